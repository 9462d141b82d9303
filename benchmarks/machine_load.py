"""Machine-load accounting shared by the benchmarks: how much CPU other processes used
while a phase ran, so a busy machine shows in the results instead of in the numbers."""

from __future__ import annotations

import os
import resource


class CpuMeter:
    """CPU seconds the whole machine spent busy, against what this process and its
    waited-for descendants spent: the difference is other load on the machine."""

    def __init__(self) -> None:
        self.start_busy = self.machine_busy_s()
        self.start_ours = self.ours_s()

    @staticmethod
    def machine_busy_s() -> float:
        """Busy CPU seconds of the machine since boot (``/proc/stat``)."""
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def ours_s() -> float:
        """CPU seconds of this process and of its waited-for descendants."""
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    def others_s(self) -> float:
        """CPU seconds spent by other processes since the meter started (read it once
        every descendant has been waited for)."""
        busy = self.machine_busy_s() - self.start_busy
        return max(0.0, busy - (self.ours_s() - self.start_ours))
