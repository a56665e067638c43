#!/usr/bin/env node
// Reference token ids for Tao's tokenizer loading, from Hugging Face's own tokenizer implementation.
//
// For every folder under the fixture directory that holds a tokenizer.json, encodes the texts of texts.json with the
// Rust `tokenizers` library (npm package `tokenizers`, Hugging Face's Node bindings) and checks that the pure-JS
// `@huggingface/tokenizers` gives the same ids; writes ids.json next to it. The C# test `ReferenceFixtureTests` loads the
// same tokenizer.json through TextTokenizer and must produce these ids.
//
// Run once, commit the output:
//   npm install --no-save tokenizers @huggingface/tokenizers
//   node tools/reference-fixtures/make_tokenizer_fixture.mjs tests/Tao.Trainer.Tests/Fixtures/tokenizers
import { readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Tokenizer: RustTokenizer } = require("tokenizers");
const { Tokenizer: JsTokenizer } = await import("@huggingface/tokenizers");

const root = process.argv[2] ?? "tests/Tao.Trainer.Tests/Fixtures/tokenizers";
const texts = JSON.parse(readFileSync(join(root, "texts.json"), "utf8"));
const { version } = require("tokenizers/package.json");
for (const name of readdirSync(root)) {
  const file = join(root, name, "tokenizer.json");
  if (!existsSync(file)) continue;
  const rust = RustTokenizer.fromFile(file);
  const js = new JsTokenizer(JSON.parse(readFileSync(file, "utf8")), {});
  const ids = [];
  for (const text of texts) {
    const reference = Array.from((await rust.encode(text, null, { addSpecialTokens: false })).getIds());
    const other = js.encode(text, { add_special_tokens: false }).ids;
    if (JSON.stringify(reference) !== JSON.stringify(other)) {
      console.warn(`${name}: the JS tokenizer differs from the Rust one on ${JSON.stringify(text)}`);
    }
    ids.push(reference);
  }
  writeFileSync(join(root, name, "ids.json"), JSON.stringify({ generator: `tools/reference-fixtures/make_tokenizer_fixture.mjs (tokenizers ${version})`, ids }) + "\n");
  console.log(`${name}: ${texts.length} texts`);
}
