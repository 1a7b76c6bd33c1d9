"""Catalog input rules: what a SKU, name, price, stock level or image URL may be."""

import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from gql.core.errors import InvalidInput
from gql.core.text import has_control_characters

SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_PRICE = Decimal("9999999999.99")
MAX_STOCK = 2_000_000_000
MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_URL = 2048
MAX_ALT_TEXT = 300
MAX_SEARCH = 200
MAX_IMAGES = 50


def clean_text(
    value: str, field: str, *, max_length: int, required: bool = True, multiline: bool = False
) -> str:
    """Trimmed text within its length limits, free of control characters (but line breaks
    and tabs when `multiline`)."""
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(f"`{field}` must not be empty.", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(f"`{field}` is longer than {max_length} characters.", field=field)
    if has_control_characters(cleaned, multiline=multiline):
        raise InvalidInput(f"`{field}` must not contain control characters.", field=field)
    return cleaned


def clean_sku(value: str) -> str:
    """A SKU: 1-64 letters, digits, dots, dashes or underscores, starting alphanumeric."""
    sku = value.strip()
    if not SKU_PATTERN.fullmatch(sku):
        raise InvalidInput(
            "`sku` must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
            field="sku",
        )
    return sku


def clean_price(value: Decimal, field: str = "price") -> Decimal:
    """A price: finite, not negative, at most two decimals and 10 integer digits."""
    try:
        if not value.is_finite():
            raise InvalidInput(f"`{field}` must be a number.", field=field)
        if value < 0:
            raise InvalidInput(f"`{field}` must not be negative.", field=field)
        if value > MAX_PRICE:
            raise InvalidInput(f"`{field}` must be at most {MAX_PRICE}.", field=field)
        if value != value.quantize(Decimal("0.01")):
            raise InvalidInput(f"`{field}` has more than two decimal places.", field=field)
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidInput(f"`{field}` must be a number.", field=field) from None


def clean_stock(value: int) -> int:
    """An initial stock level."""
    if not 0 <= value <= MAX_STOCK:
        raise InvalidInput(f"`stock` must be between 0 and {MAX_STOCK}.", field="stock")
    return value


def clean_url(value: str) -> str:
    """An absolute http(s) URL."""
    url = value.strip()
    if len(url) > MAX_URL:
        raise InvalidInput(f"`url` is longer than {MAX_URL} characters.", field="url")
    if has_control_characters(url):
        raise InvalidInput("`url` must not contain control characters.", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidInput("`url` must be an absolute http or https URL.", field="url")
    return url
