"""Stored files live as long as an image refers to them: removed after the commit that
drops the last reference, kept when that transaction fails; `gql check-media` repairs."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog import service as catalog
from gql.core.db import Database, new_session
from gql.media.images import read_upload
from gql.media.service import check_media, store_picture
from gql.media.storage import storage_for
from tests.conftest import execute, make_settings
from tests.factories import gid, make_product, signed_in
from tests.media.pictures import picture
from tests.media.test_uploads import stored_state, upload, uploaded

DELETE = "mutation($id: ID!) { deleteProduct(id: $id) { __typename } }"
REMOVE = "mutation($id: ID!) { removeProductImage(id: $id) { __typename } }"


@pytest.fixture
async def staff(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """Headers of a staff member (`product:write`)."""
    return await signed_in(client, db, "staff@example.com", "staff")


async def test_deleting_a_product_removes_its_files_and_renditions_after_the_commit(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], session: AsyncSession
) -> None:
    # given: a product with an uploaded image and one of its renditions
    product = gid("Product", (await make_product(session, "DEL-1")).id)
    image = uploaded(await upload(client, staff, product, picture("PNG")))["image"]
    assert (await client.get(image["resizedUrl"])).status_code == 200
    assert len((await stored_state(db))[2]) == 2
    # when: the product is deleted
    body = await execute(client, DELETE, {"id": product}, headers=staff)
    # then: no image, no registration, no file; the URLs are gone
    assert body["data"]["deleteProduct"]["__typename"] == "DeleteProductSuccess"
    assert await stored_state(db) == (0, 0, set())
    assert (await client.get(image["url"])).status_code == 404
    assert (await client.get(image["resizedUrl"])).status_code == 404


async def test_a_file_two_images_share_stays_until_the_last_is_removed(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], session: AsyncSession
) -> None:
    # given: the same picture uploaded for two products (one stored file)
    products = [gid("Product", (await make_product(session, f"SH-{n}")).id) for n in range(2)]
    images = [
        uploaded(await upload(client, staff, product, picture("PNG")))["image"]
        for product in products
    ]
    assert images[0]["url"] == images[1]["url"]
    assert (await stored_state(db))[:2] == (2, 1)
    # when: the first image is removed, then the second product deleted
    await execute(client, REMOVE, {"id": images[0]["id"]}, headers=staff)
    # then: the file stays while the second refers to it, and goes with it
    assert (await client.get(images[1]["url"])).status_code == 200
    await execute(client, DELETE, {"id": products[1]}, headers=staff)
    assert await stored_state(db) == (0, 0, set())


async def test_a_failed_deletion_leaves_the_files_in_place(
    client: httpx.AsyncClient,
    db: Database,
    staff: dict[str, str],
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a product with an uploaded image
    product = gid("Product", (await make_product(session, "FAIL-1")).id)
    image = uploaded(await upload(client, staff, product, picture("PNG")))["image"]
    before = await stored_state(db)
    # and: a fault after the delete statement, before the commit
    delete_product = catalog.delete_product

    async def failing(*args: Any, **kwargs: Any) -> list[str]:
        await delete_product(*args, **kwargs)
        raise RuntimeError("injected fault before commit")

    monkeypatch.setattr(catalog, "delete_product", failing)
    # when: the product is deleted
    body = await execute(client, DELETE, {"id": product}, headers=staff)
    # then: the request failed, masked; the product, its image and its file are all there
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "injected" not in str(body)
    assert await stored_state(db) == before
    assert (await client.get(image["url"])).status_code == 200


async def test_a_product_on_orders_keeps_its_files(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], session: AsyncSession
) -> None:
    product = gid("Product", (await make_product(session, "ORD-1", stock=5)).id)
    image = uploaded(await upload(client, staff, product, picture("PNG")))["image"]
    order = (
        "mutation($p: ID!) { placeOrder(input: {lines: [{productId: $p, quantity: 1}]}) "
        "{ __typename } }"
    )
    assert (await execute(client, order, {"p": product}, headers=staff))["data"]["placeOrder"][
        "__typename"
    ] == "PlaceOrderSuccess"
    body = await execute(client, DELETE, {"id": product}, headers=staff)
    assert body["data"]["deleteProduct"]["__typename"] == "ProductInUseError"
    assert (await client.get(image["url"])).status_code == 200


async def test_check_media_reports_and_repairs_orphans(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], session: AsyncSession
) -> None:
    # given: one image in use, one registered file nothing refers to (a crash between a
    # commit and its release), and stray bytes nobody registered (a crash mid-upload)
    storage = storage_for(make_settings(db.url), db)
    product = gid("Product", (await make_product(session, "CHK-1")).id)
    used = uploaded(await upload(client, staff, product, picture("PNG")))["image"]
    unreferenced = read_upload(
        picture("PNG", (10, 10)), max_bytes=10**6, max_pixels=10**6, field="f"
    )
    stray = read_upload(picture("JPEG", (12, 12)), max_bytes=10**6, max_pixels=10**6, field="f")
    async with new_session(db, write=True) as writing:
        await store_picture(writing, storage, unreferenced)
        await storage.write(writing, stray.key, stray.data)
        await writing.commit()
    # when: checked without repairing
    report = await check_media(db, storage, repair=False)
    # then: both orphans are named, nothing is missing, nothing changed
    assert report.unreferenced == [unreferenced.key]
    assert report.unregistered == [stray.key]
    assert report.missing == []
    assert len(await storage.keys()) == 3
    # when: repaired
    await check_media(db, storage, repair=True)
    # then: only the file in use is left, and it is still served
    assert await storage.keys() == {used["url"].rsplit("/", 1)[1]}
    assert (await client.get(used["url"])).status_code == 200
    clean = await check_media(db, storage, repair=False)
    assert (clean.unreferenced, clean.unregistered, clean.missing) == ([], [], [])


async def test_a_removal_waits_for_an_upload_that_reuses_the_file(
    client: httpx.AsyncClient, db: Database, staff: dict[str, str], session: AsyncSession
) -> None:
    # given: product A's image uses a file, and an upload of the same picture for product B
    # is inside its transaction, not yet committed
    first = await make_product(session, "RACE-1")
    second = await make_product(session, "RACE-2")
    image = uploaded(await upload(client, staff, gid("Product", first.id), picture("PNG")))
    storage = storage_for(make_settings(db.url), db)
    again = read_upload(picture("PNG"), max_bytes=10**6, max_pixels=10**6, field="f")
    async with new_session(db, write=True) as uploading:
        await catalog.add_uploaded_image(uploading, storage, second.id, again)
        # when: A's image is removed meanwhile (its release must wait for the upload)
        removal = asyncio.create_task(
            execute(client, REMOVE, {"id": image["image"]["id"]}, headers=staff)
        )
        await asyncio.sleep(0.5)
        assert not removal.done()
        await uploading.commit()
    body = await asyncio.wait_for(removal, 30)
    # then: the removal saw B's new reference: the file stays, served for B
    assert body["data"]["removeProductImage"]["__typename"] == "RemoveProductImageSuccess"
    assert (await stored_state(db))[:2] == (1, 1)
    assert (await client.get(image["image"]["url"])).status_code == 200
