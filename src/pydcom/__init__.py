"""pydcom: COM activation and DCOM in pure Python, wire-compatible with Windows.

See DESIGN notes in the repository for the layers. The public surface is re-exported here.
"""

from pydcom.hresult import ComError

__all__ = ["ComError"]
__version__ = "0.1.0"
