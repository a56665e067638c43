// TorchSharp's default random generator is process-wide: a test that seeds it and builds a model ("same seed, same
// base") races any test running beside it that draws from it. The assembly's tests therefore run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
