"""The process the commands run in: how OpenMP threads wait (openmp, set by the command line before torch loads),
the library messages silenced (quiet), the memory still available (memory). Nothing here imports torch."""
