"""Image uploads through GraphQL multipart requests: stored, served, sized, refused."""

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import ProductImage
from gql.core.db import Database, new_session
from gql.media.models import MediaFile
from gql.media.storage import storage_for
from tests.conftest import execute, make_settings
from tests.factories import gid, make_product, signed_in
from tests.media.pictures import exif_bytes, picture, size_of
from tests.servers import ServerProcess

UPLOAD = """
mutation($input: UploadProductImageInput!) {
  uploadProductImage(input: $input) {
    __typename
    ... on AddProductImageSuccess {
      image { id url width height position resizedUrl(size: SMALL) }
      product { images { id } }
    }
    ... on UserError { code message field }
  }
}"""


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    product_id: str,
    data: bytes,
    *,
    content_type: str = "image/png",
    preflight: bool = True,
) -> httpx.Response:
    """POST a GraphQL multipart request (operations, map, then the file)."""
    operations = {"query": UPLOAD, "variables": {"input": {"productId": product_id, "file": None}}}
    form = {
        "operations": json.dumps(operations),
        "map": json.dumps({"0": ["variables.input.file"]}),
    }
    extra = {"Apollo-Require-Preflight": "true"} if preflight else {}
    return await client.post(
        "/graphql",
        data=form,
        files={"0": ("upload", data, content_type)},
        headers=headers | extra,
    )


def uploaded(response: httpx.Response) -> dict[str, Any]:
    """The mutation's result member."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["uploadProductImage"]
    return result


@pytest.fixture
async def staff(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """Headers of a staff member (`product:write`)."""
    return await signed_in(client, db, "staff@example.com", "staff")


@pytest.fixture
async def product_id(session: AsyncSession) -> str:
    """The global id of a product without images."""
    return gid("Product", (await make_product(session, "CAM-1")).id)


async def stored_state(db: Database) -> tuple[int, int, set[str]]:
    """Images, registered files and stored keys."""
    async with new_session(db, write=False) as session:
        images = await session.scalar(select(func.count()).select_from(ProductImage))
        files = await session.scalar(select(func.count()).select_from(MediaFile))
    settings = make_settings(db.url)
    return images or 0, files or 0, await storage_for(settings, db).keys()


async def test_uploaded_png_and_jpeg_are_served_without_their_exif(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], product_id: str
) -> None:
    # given: a PNG and a JPEG that carry EXIF naming a camera
    files = [
        ("image/png", picture("PNG", exif=exif_bytes()), picture("PNG")),
        ("image/jpeg", picture("JPEG", quality=85, exif=exif_bytes()), picture("JPEG", quality=85)),
    ]
    for content_type, sent, without_exif in files:
        assert sent != without_exif and b"SERIAL-0042" in sent
        # when: each is uploaded
        result = uploaded(await upload(client, staff, product_id, sent, content_type=content_type))
        # then: it is served at its URL byte for byte, minus the EXIF, cacheable forever
        image = result["image"]
        assert result["__typename"] == "AddProductImageSuccess"
        assert (image["width"], image["height"]) == (300, 200)
        served = await client.get(image["url"])
        assert served.status_code == 200
        assert served.content == without_exif
        assert served.headers["content-type"] == content_type
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert served.headers["x-content-type-options"] == "nosniff"
        again = await client.get(image["url"], headers={"if-none-match": served.headers["etag"]})
        assert again.status_code == 304
    assert len(result["product"]["images"]) == 2


async def test_a_rendition_fits_its_size_keeps_the_aspect_and_is_kept(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], product_id: str
) -> None:
    # given: an uploaded 300x200 JPEG
    image = uploaded(
        await upload(
            client, staff, product_id, picture("JPEG", (600, 400)), content_type="image/jpeg"
        )
    )["image"]
    # when: its SMALL rendition is fetched twice
    first = await client.get(image["resizedUrl"])
    second = await client.get(image["resizedUrl"])
    # then: 256 pixels wide, aspect kept, made once and served from storage after
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert size_of(first.content) == (256, 171)
    assert second.content == first.content
    keys = await storage_for(make_settings(db.url), db).keys()
    assert image["resizedUrl"].rsplit("/", 1)[1] in keys
    # and: a size that is not offered, or a key never stored, is not found
    original_key = image["url"].rsplit("/", 1)[1]
    digest, ext = original_key.split(".")
    assert (await client.get(f"/media/{digest}.w300.{ext}")).status_code == 404
    assert (await client.get(f"/media/{'0' * 64}.png")).status_code == 404
    assert (await client.get("/media/..%2Fgql.db")).status_code == 404


async def test_a_small_image_is_not_enlarged(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], product_id: str
) -> None:
    image = uploaded(await upload(client, staff, product_id, picture("PNG", (40, 30))))["image"]
    large = await client.get(image["resizedUrl"].replace(".w256.", ".w1024."))
    assert size_of(large.content) == (40, 30)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "not a PNG, JPEG or WebP"),
        (b"just some text, not an image", "not a PNG, JPEG or WebP"),
        (b"", "empty"),
        (picture("PNG")[:120], "damaged"),
        (picture("JPEG")[:400], "damaged"),
        (picture("PNG", (3000, 2000)), "pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 70_000, "larger than"),
    ],
    ids=["gif", "text", "empty", "truncated-png", "truncated-jpeg", "too-many-pixels", "too-big"],
)
async def test_a_bad_file_is_a_coded_error_and_stores_nothing(
    server_with: Any, db: Database, data: bytes, message: str, session: AsyncSession
) -> None:
    # given: limits of 64 KiB and 1 million pixels
    server = await server_with(media_max_bytes=65536, media_max_pixels=1_000_000)
    product = gid("Product", (await make_product(session, "CAM-2")).id)
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        headers = await signed_in(client, db, "staff@example.com", "staff")
        # when: the file is uploaded
        result = uploaded(await upload(client, headers, product, data))
    # then: a ValidationError on `file`, and nothing stored
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "file" and message in result["message"]
    assert await stored_state(db) == (0, 0, set())


async def test_the_format_is_read_from_the_bytes_not_the_declared_type(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], product_id: str
) -> None:
    response = await upload(client, staff, product_id, picture("PNG"), content_type="image/jpeg")
    image = uploaded(response)["image"]
    assert image["url"].endswith(".png")
    assert (await client.get(image["url"])).headers["content-type"] == "image/png"


async def test_an_upload_without_the_preflight_header_is_refused(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], product_id: str
) -> None:
    response = await upload(client, staff, product_id, picture("PNG"), preflight=False)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Apollo-Require-Preflight" in response.json()["errors"][0]["message"]
    assert await stored_state(db) == (0, 0, set())


async def test_an_upload_over_the_body_limit_is_refused_before_it_is_read(
    server_with: Any, db: Database, session: AsyncSession
) -> None:
    server = await server_with(media_max_bytes=2048)
    product = gid("Product", (await make_product(session, "CAM-3")).id)
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        headers = await signed_in(client, db, "staff@example.com", "staff")
        response = await upload(client, headers, product, b"\x00" * (2048 + 70_000))
    assert response.status_code == 413
    assert await stored_state(db) == (0, 0, set())


async def test_uploading_needs_product_write(
    client: httpx.AsyncClient, db: Database, product_id: str
) -> None:
    customer = await signed_in(client, db, "customer@example.com")
    response = await upload(client, customer, product_id, picture("PNG"))
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stored_state(db) == (0, 0, set())


async def test_a_product_of_fifty_with_sized_images_costs_no_more_statements(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], statements: Any
) -> None:
    async with new_session(db, write=True) as session:
        ids = [
            gid("Product", (await make_product(session, f"S-{n}", images=1)).id) for n in range(50)
        ]
    for product in ids[:3]:
        uploaded(await upload(client, staff, product, picture("PNG")))
    plain = "{ products(first: 50) { edges { node { id images { url } } } } }"
    sized = (
        "{ products(first: 50) { edges { node { id images { url width height "
        "resizedUrl(size: THUMBNAIL) } } } } }"
    )
    counts = []
    for query in (plain, sized):
        statements.reset()
        body = await execute(client, query, headers=staff)
        assert "errors" not in body
        counts.append(statements.count)
    assert counts[0] == counts[1]


@pytest.mark.postgres_only
async def test_an_image_uploaded_through_one_process_is_served_by_another(
    backend: str, db: Database, database_url: str, session: AsyncSession
) -> None:
    # given: two `gql serve` processes on one PostgreSQL database (database storage)
    product = gid("Product", (await make_product(session, "CAM-4")).id)
    env = {"DATABASE_URL": database_url, "RESPONSE_CACHE": "false", "LOG_LEVEL": "WARNING"}
    servers = [ServerProcess(env), ServerProcess(env)]
    try:
        for server in servers:
            server.start()
        async with (
            httpx.AsyncClient(base_url=servers[0].url) as first,
            httpx.AsyncClient(base_url=servers[1].url) as second,
        ):
            headers = await signed_in(first, db, "staff@example.com", "staff")
            for image_format, content_type in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
                sent = picture(image_format, quality=85, exif=exif_bytes())
                # when: a picture is uploaded through the first
                image = uploaded(
                    await upload(first, headers, product, sent, content_type=content_type)
                )["image"]
                # then: the second serves it (minus the EXIF) and its renditions
                served = await second.get(image["url"])
                assert served.content == picture(image_format, quality=85)
                assert served.headers["content-type"] == content_type
                sized = await second.get(image["resizedUrl"])
                assert size_of(sized.content) == (256, 171)
                assert (await first.get(image["resizedUrl"])).content == sized.content
    finally:
        logs = [server.stop()[1] for server in servers]
    assert not any("Traceback" in log for log in logs), logs


@pytest.mark.parametrize(
    ("operations", "file_map"),
    [
        ("not json", '{"0": ["variables.input.file"]}'),
        ("[]", '{"0": ["variables.input.file"]}'),
        ("5", '{"0": ["variables.input.file"]}'),
        (None, "not json"),
        (None, '{"1": ["variables.input.file"]}'),
        (None, '{"0": ["variables.nowhere.deep"]}'),
        (None, '{"0": "variables.input.file"}'),
    ],
    ids=[
        "operations-not-json",
        "operations-a-list",
        "operations-a-number",
        "map-not-json",
        "map-names-a-missing-file",
        "map-names-a-missing-path",
        "map-value-not-a-list",
    ],
)
async def test_a_malformed_multipart_request_is_a_client_error_and_stores_nothing(
    client: httpx.AsyncClient,
    db: Database,
    staff: dict[str, str],
    product_id: str,
    operations: str | None,
    file_map: str,
) -> None:
    default = {"query": UPLOAD, "variables": {"input": {"productId": product_id, "file": None}}}
    response = await client.post(
        "/graphql",
        data={"operations": operations or json.dumps(default), "map": file_map},
        files={"0": ("upload", picture("PNG"), "image/png")},
        headers=staff | {"Apollo-Require-Preflight": "true"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await stored_state(db) == (0, 0, set())
