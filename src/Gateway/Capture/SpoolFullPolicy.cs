namespace Tao.Gateway.Capture;

/// <summary>See <see cref="CaptureOptions.WhenSpoolFull"/>.</summary>
public enum SpoolFullPolicy
{
    Drop,
    Refuse,
}
