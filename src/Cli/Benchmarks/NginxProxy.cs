namespace Tao.Cli.Benchmarks;

/// <summary>
/// Debian's nginx as a plain proxy_pass in front of the same upstream: the practical floor for proxy overhead.
/// One worker process in the foreground, so its CPU and memory are measured like the gateway's.
/// </summary>
internal static class NginxProxy
{
    public static string? Binary => new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);

    public static Task<ChildProcess> StartAsync(string folder, int port, Uri upstream) => RunAsync(folder, port, $$"""
          upstream upstream { server {{upstream.Host}}:{{upstream.Port}}; keepalive 256; }
          server {
            listen 127.0.0.1:{{port}};
            location / {
              proxy_pass http://upstream;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_buffering off;
            }
          }
        """);

    /// <summary>The answer <see cref="StartStaticAsync"/> gives every call: a chat completion of 30 words with usage.</summary>
    public const string StaticAnswer =
        "{\"id\":\"chatcmpl-static\",\"object\":\"chat.completion\",\"created\":1764633600,\"model\":\"bench-model\"," +
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"one two three four five six seven eight nine ten " +
        "eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three " +
        "twenty-four twenty-five twenty-six twenty-seven twenty-eight twenty-nine thirty\"},\"finish_reason\":\"stop\"}]," +
        "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":30,\"total_tokens\":42}}";

    /// <summary>
    /// A static upstream: nginx answering every request with <see cref="StaticAnswer"/> (return 200), the cheapest
    /// upstream there is, so a proxy's own cost is most of what the load measures.
    /// </summary>
    public static Task<ChildProcess> StartStaticAsync(string folder, int port) => RunAsync(folder, port, $$"""
          server {
            listen 127.0.0.1:{{port}};
            location / {
              default_type application/json;
              return 200 '{{StaticAnswer.Replace("'", "\\'", StringComparison.Ordinal)}}';
            }
          }
        """);

    /// <summary>One nginx worker in the foreground with <paramref name="servers"/> inside its http block; returns once it answers.</summary>
    private static async Task<ChildProcess> RunAsync(string folder, int port, string servers)
    {
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "nginx.conf");
        await File.WriteAllTextAsync(config, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{folder}}/nginx.pid;
            error_log {{folder}}/error.log warn;
            events { worker_connections 4096; }
            http {
              access_log off;
              client_body_temp_path {{folder}}/body;
              proxy_temp_path {{folder}}/proxy;
            {{servers}}
            }
            """);
        var process = ChildProcess.Start(Binary!, ["-c", config, "-e", Path.Combine(folder, "error.log")], Path.Combine(folder, "nginx.log"));
        await process.WaitForHttpAsync(new Uri($"http://127.0.0.1:{port}/v1/models"), TimeSpan.FromSeconds(20));
        return process;
    }
}
