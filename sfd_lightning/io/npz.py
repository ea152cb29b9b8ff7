"""Reading the .npz files users hand to ``sfd eval`` (samples, references, FID statistics).

Arrays are read with ``allow_pickle=False``: an object array would be unpickled, which runs code of
the file's choosing, so it is refused with one line instead. A file numpy cannot read at all (not a
zip, truncated) is one line too.
"""
import zipfile
from typing import Dict, Iterable, List

import numpy as np

from sfd_lightning.errors import ConfigError, describe


def _reading_error(path: str, field: str, err: Exception) -> ConfigError:
    if isinstance(err, ValueError) and str(err).startswith("Object arrays"):
        return ConfigError(field, f"{path!r} holds object (pickled) arrays, which are not read (they could run code); "
                                  "save plain numeric arrays, as `sfd sample` writes")
    if isinstance(err, ValueError) and "pickled" in str(err):  # numpy's guess for any file that is not .npy/.npz
        return ConfigError(field, f"{path!r} is not an .npz file (numpy would read it as a pickle, which is never loaded)")
    return ConfigError(field, f"cannot read {path!r} as an .npz file ({describe(err)})")


def _open(path: str, field: str) -> np.lib.npyio.NpzFile:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise _reading_error(path, field, err) from None
    if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy under an .npz name
        raise ConfigError(field, f"{path!r} is a single .npy array, not an .npz of named arrays")
    return data


def npz_keys(path: str, field: str) -> List[str]:
    """The array names in ``path``."""
    with _open(path, field) as data:
        return list(data.files)


def read_npz(path: str, field: str, names: Iterable[str]) -> Dict[str, np.ndarray]:
    """Those of the arrays ``names`` that ``path`` holds, read without unpickling anything."""
    with _open(path, field) as data:
        try:
            return {name: data[name] for name in names if name in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise _reading_error(path, field, err) from None
