"""Reading the .npz files users hand to ``sfd eval`` (samples, references, FID statistics).

Arrays are read with ``allow_pickle=False``: an object array would be unpickled, which runs code of
the file's choosing, so it is refused with one line instead. A file numpy cannot read at all (not a
zip, truncated) is one line too.
"""

import zipfile
from typing import Dict, Iterable, List

import numpy as np

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.io.source import Source


def _reading_error(source: Source, err: Exception) -> ConfigError:
    if isinstance(err, ValueError) and str(err).startswith("Object arrays"):
        return source.error(
            f"{source.path!r} holds object (pickled) arrays, which are not read (they could run code); "
            "save plain numeric arrays, as `sfd sample` writes"
        )
    if isinstance(err, ValueError) and "pickled" in str(err):  # numpy's guess for any file that is not .npy/.npz
        return source.error(
            f"{source.path!r} is not an .npz file (numpy would read it as a pickle, which is never loaded)"
        )
    return source.error(f"cannot read {source.path!r} as an .npz file ({describe(err)})")


def _open(source: Source) -> np.lib.npyio.NpzFile:
    try:
        data = np.load(source.path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise _reading_error(source, err) from None
    if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy under an .npz name
        raise source.error(f"{source.path!r} is a single .npy array, not an .npz of named arrays")
    return data


def npz_keys(source: Source) -> List[str]:
    """The array names in the file."""
    with _open(source) as data:
        return list(data.files)


def read_npz(source: Source, names: Iterable[str]) -> Dict[str, np.ndarray]:
    """Those of the arrays ``names`` that the file holds, read without unpickling anything."""
    with _open(source) as data:
        try:
            return {name: data[name] for name in names if name in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise _reading_error(source, err) from None
