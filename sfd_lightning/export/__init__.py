"""The forgotten model anywhere: an SFD run's one-step generator as a folder (safetensors weights, a JSON
config, a model card), and a pipeline that samples from it."""
