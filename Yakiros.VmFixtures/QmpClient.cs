using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Yakiros.VmFixtures;

/// <summary>A minimal QEMU Machine Protocol client over the run's unix socket: one command at a time, events skipped.</summary>
public sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;
    private readonly SemaphoreSlim _one = new(1, 1);

    private QmpClient(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    public static async Task<QmpClient> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                var client = new QmpClient(socket);
                await client.ReadMessageAsync(cancellationToken); // greeting
                await client.ExecuteAsync("qmp_capabilities", null, cancellationToken);
                return client;
            }
            catch (SocketException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                await Task.Delay(20, cancellationToken);
            }
        }
    }

    /// <summary>Runs a QMP command and returns its "return" value; a QMP error becomes a <see cref="VmException"/>.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, CancellationToken cancellationToken)
    {
        await _one.WaitAsync(cancellationToken);
        try
        {
            var request = new JsonObject { ["execute"] = command };
            if (arguments is not null) request["arguments"] = arguments;
            await _writer.WriteLineAsync(request.ToJsonString().AsMemory(), cancellationToken);
            while (true)
            {
                var message = await ReadMessageAsync(cancellationToken);
                if (message.ContainsKey("event")) continue;
                if (message["error"] is JsonObject error)
                    throw new VmException($"QMP {command} failed: {error["class"]}: {error["desc"]}");
                return message["return"];
            }
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>Runs a human-monitor command (savevm, loadvm, info ...); monitor error text becomes a <see cref="VmException"/>.</summary>
    public async Task<string> HumanAsync(string commandLine, CancellationToken cancellationToken)
    {
        var output = (await ExecuteAsync("human-monitor-command", new JsonObject { ["command-line"] = commandLine }, cancellationToken))?.GetValue<string>() ?? "";
        if (output.Contains("Error", StringComparison.OrdinalIgnoreCase) || output.Contains("does not", StringComparison.OrdinalIgnoreCase))
            throw new VmException($"QEMU monitor command '{commandLine}' failed: {output.Trim()}");
        return output;
    }

    private async Task<JsonObject> ReadMessageAsync(CancellationToken cancellationToken)
    {
        var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new IOException("QMP connection closed by QEMU.");
        return JsonNode.Parse(line) as JsonObject ?? throw new JsonException($"Unexpected QMP message: {line}");
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _writer.Dispose();
        _socket.Dispose();
        _one.Dispose();
        return ValueTask.CompletedTask;
    }
}
