namespace Tao.Gateway.Limits;

/// <summary>A key's usage as one replica sees it (GET /admin/keys/{id}/usage).</summary>
internal sealed record KeyUsageView(DateTime Minute, long Requests, long OtherReplicasRequests, long Tokens, long OtherReplicasTokens, int Streams,
    int OtherReplicasStreams, double DaySpendUsd, double MonthSpendUsd);
