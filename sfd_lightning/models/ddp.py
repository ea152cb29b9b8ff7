"""A second DDP wrapper beside Lightning's, for a network that a backward of its own updates."""

from torch import nn
from torch.nn.parallel import DistributedDataParallel


def wrap_like(module: nn.Module, lightning_wrapper: DistributedDataParallel) -> DistributedDataParallel:
    """DDP around ``module`` with the device, process group and gradient-bucket settings of the wrapper
    Lightning's strategy built (so ``trainer.strategy`` options reach it too)."""
    return DistributedDataParallel(
        module,
        device_ids=lightning_wrapper.device_ids,
        process_group=lightning_wrapper.process_group,
        find_unused_parameters=lightning_wrapper.find_unused_parameters,
        gradient_as_bucket_view=lightning_wrapper.gradient_as_bucket_view,
        bucket_cap_mb=lightning_wrapper.bucket_bytes_cap / 2**20,
    )
