#!/usr/bin/env python3
"""Splits a gateway's perf samples by what the work is for, per 1000 requests, so two profiles taken at different
throughputs compare by cost per call rather than by share.

    perf script -i perf.data -F comm,ip,sym --no-inline > script.txt
    tools/perf-categories.py script.txt REQUESTS_PER_SECOND SECONDS

Used by tools/gateway-profile.sh. A sample counts for the first of these its thread and stack match: the .NET GC's
threads; the spool's sync thread; a .NET thread inside CaptureRecorder.Complete (the record on the request path), a
sink's shipper, or the response's capture buffering; any other .NET thread (the proxy: Kestrel, YARP, the HTTP
client, Tao's middleware, the kernel's socket work under them); every other thread (the embedded engine's own).
"""
import collections
import sys


def samples(path):
    comm, stack = None, None
    for line in open(path, errors="replace"):
        if not line.strip():
            if stack is not None:
                yield comm, stack
            stack = None
        elif not line[0].isspace():
            comm, stack = line.strip(), []
        elif stack is not None:
            parts = line.strip().split(None, 1)
            stack.append(parts[-1])
    if stack is not None:
        yield comm, stack


def category(comm, stack):
    if comm.startswith((".NET Server GC", ".NET BGC")):
        return "GC threads"
    if comm.startswith("tao-spool-sync"):
        return "spool sync thread (msync, cursors, prefault)"
    if comm.startswith(".NET"):
        frames = " ".join(stack)
        if "CaptureRecorder::Complete" in frames:
            return "the record on the request path"
        if "SinkShipper" in frames or "ClickHouseSink" in frames:
            return "sink shipper (managed)"
        if "CaptureResponseStream" in frames or "CaptureContext" in frames:
            return "capture buffering of the response"
        return "proxy (.NET threads, with their kernel time)"
    return "embedded engine's threads"


def main():
    path, rps, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    counts = collections.Counter(category(comm, stack) for comm, stack in samples(path))
    total = sum(counts.values())
    requests = rps * seconds
    print(f"samples per 1000 requests ({total} samples, {requests:.0f} requests):")
    for name, count in counts.most_common():
        print(f"  {name:48s} {1000 * count / requests:6.2f}  ({100 * count / total:.1f} %)")
    print(f"  {'all':48s} {1000 * total / requests:6.2f}")


if __name__ == "__main__":
    main()
