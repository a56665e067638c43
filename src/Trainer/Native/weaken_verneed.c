/* Marks one symbol-version requirement of an ELF64 shared object as weak (VER_FLG_WEAK).
 * The dynamic loader then treats a missing version as a warning instead of refusing to load.
 * Usage: weaken_verneed <file.so> <version-name>     exit 0 when the flag is set (or already was). */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) { fprintf(stderr, "weaken_verneed: %s\n", what); return 1; }

int main(int argc, char **argv) {
    if (argc != 3) return fail("usage: weaken_verneed <file.so> <version-name>");
    FILE *f = fopen(argv[1], "r+b");
    if (!f) return fail("cannot open file");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) return fail("cannot read file");

    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
        return fail("not an ELF64 file");
    Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff);
    int found = 0;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        const char *strtab = (const char *)(buf + sh[sh[i].sh_link].sh_offset);
        size_t off = sh[i].sh_offset;
        for (;;) {
            Elf64_Verneed *vn = (Elf64_Verneed *)(buf + off);
            size_t aoff = off + vn->vn_aux;
            for (int a = 0; a < vn->vn_cnt; a++) {
                Elf64_Vernaux *vna = (Elf64_Vernaux *)(buf + aoff);
                if (strcmp(strtab + vna->vna_name, argv[2]) == 0) {
                    vna->vna_flags |= VER_FLG_WEAK;
                    found = 1;
                }
                if (!vna->vna_next) break;
                aoff += vna->vna_next;
            }
            if (!vn->vn_next) break;
            off += vn->vn_next;
        }
    }
    if (!found) return fail("version requirement not found");
    fseek(f, 0, SEEK_SET);
    if (fwrite(buf, 1, (size_t)size, f) != (size_t)size) return fail("cannot write file");
    fclose(f);
    return 0;
}
