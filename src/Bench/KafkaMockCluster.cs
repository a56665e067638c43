using System.Runtime.InteropServices;
using System.Text;

namespace Tao.Bench;

/// <summary>
/// librdkafka's built-in mock cluster: real Kafka protocol over TCP on loopback, with fault injection
/// (brokers down/up, request errors, latency). For tests, benchmarks and fault drills; production points at a
/// real cluster.
/// </summary>
public sealed partial class KafkaMockCluster : IDisposable
{
    private const string Lib = "librdkafka";
    private IntPtr _handle;
    private IntPtr _cluster;

    static KafkaMockCluster()
    {
        NativeLibrary.SetDllImportResolver(typeof(KafkaMockCluster).Assembly, (name, assembly, path) =>
            name == Lib ? LoadLibrdkafka() : IntPtr.Zero);
    }

    /// <summary>
    /// The librdkafka build Confluent.Kafka runs on: its package ships variants, and the default one needs
    /// libsasl2.so.3, which e.g. Debian 12 lacks; the same file must be used here so the handles are shared.
    /// </summary>
    private static IntPtr LoadLibrdkafka()
    {
        var folder = AppContext.BaseDirectory;
        foreach (var candidate in (ReadOnlySpan<string>)["librdkafka.so", "centos8-librdkafka.so", "alpine-librdkafka.so"])
        {
            foreach (var path in (ReadOnlySpan<string>)[Path.Combine(folder, candidate), Path.Combine(folder, "runtimes", "linux-x64", "native", candidate)])
            {
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle))
                {
                    return handle;
                }
            }
        }

        return IntPtr.Zero;
    }

    public KafkaMockCluster(int brokers = 3)
    {
        // Make sure Confluent.Kafka has located and loaded the native library this process uses.
        _ = Confluent.Kafka.Library.Version;
        var conf = rd_kafka_conf_new();
        var error = new StringBuilder(512);
        Set(conf, "log_level", "0", error);
        _handle = rd_kafka_new(0 /* producer */, conf, error, (nuint)error.Capacity);
        if (_handle == IntPtr.Zero)
        {
            throw new InvalidOperationException("rd_kafka_new failed: " + error);
        }

        _cluster = rd_kafka_mock_cluster_new(_handle, brokers);
        if (_cluster == IntPtr.Zero)
        {
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        }

        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(_cluster))!;
        Brokers = brokers;
    }

    public string BootstrapServers { get; }

    public int Brokers { get; }

    public void CreateTopic(string topic, int partitions = 3, int replicationFactor = 3)
    {
        var code = rd_kafka_mock_topic_create(_cluster, topic, partitions, Math.Min(replicationFactor, Brokers));
        if (code != 0)
        {
            throw new InvalidOperationException($"rd_kafka_mock_topic_create failed with {code}");
        }
    }

    /// <summary>Takes every broker down (connections are closed and refused) or brings them back.</summary>
    public void SetAllBrokers(bool up)
    {
        for (var id = 1; id <= Brokers; id++)
        {
            _ = up ? rd_kafka_mock_broker_set_up(_cluster, id) : rd_kafka_mock_broker_set_down(_cluster, id);
        }
    }

    private static void Set(IntPtr conf, string name, string value, StringBuilder error)
    {
        if (rd_kafka_conf_set(conf, name, value, error, (nuint)error.Capacity) != 0)
        {
            throw new InvalidOperationException($"rd_kafka_conf_set {name}: {error}");
        }
    }

    public void Dispose()
    {
        if (_cluster != IntPtr.Zero)
        {
            rd_kafka_mock_cluster_destroy(_cluster);
            _cluster = IntPtr.Zero;
        }

        if (_handle != IntPtr.Zero)
        {
            rd_kafka_destroy(_handle);
            _handle = IntPtr.Zero;
        }
    }

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_conf_new();

    [DllImport(Lib, CharSet = CharSet.Ansi)]
    private static extern int rd_kafka_conf_set(IntPtr conf, string name, string value, StringBuilder errstr, nuint errstrSize);

    [DllImport(Lib, CharSet = CharSet.Ansi)]
    private static extern IntPtr rd_kafka_new(int type, IntPtr conf, StringBuilder errstr, nuint errstrSize);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);
}
