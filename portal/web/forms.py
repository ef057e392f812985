"""How route handlers take a browser form: ``data: Annotated[SomeForm, FORM]``.

``FORM`` is an urlencoded form; ``MULTIPART`` one with files (its size is limited by
``portal.web.uploads`` before it is parsed).
"""

from __future__ import annotations

from litestar.enums import RequestEncodingType
from litestar.params import Body

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
MULTIPART = Body(media_type=RequestEncodingType.MULTI_PART)
