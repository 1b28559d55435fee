"""QR labels (二维码标签) over real HTTP: the PNG and SVG decode to the signed label URL, a
regenerated code retires old labels, forged ones are refused, and the A4 label sheet is read
back (pages, names, codes and every QR code)."""

from __future__ import annotations

import io
import re
from typing import Any

import pypdf
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from inspection_api.auth.permissions import Permission
from inspection_api.checkpoints import qr, service
from inspection_api.checkpoints.errors import QrInvalid, QrRetired
from inspection_api.checkpoints.labels import LABELS_PER_PAGE
from inspection_api.db import create_engine, create_sessionmaker
from tests.integration.anomaly_support import principal
from tests.integration.test_checkpoints import URL, audit_actions, create, ids_by_code, new_site
from tests.plugins.api import json_of


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def svg_to_image(svg: str) -> Image.Image:
    """Draw the SVG's module squares ("Mx,yH…z") on a bitmap, 8 px per module."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg)[1])  # type: ignore[index]
    image = Image.new("L", (size * 8, size * 8), 255)
    draw = ImageDraw.Draw(image)
    for x, y in re.findall(r"M(\d+),(\d+)H", svg):
        draw.rectangle([int(x) * 8, int(y) * 8, int(x) * 8 + 7, int(y) * 8 + 7], fill=0)
    return image


SCAN = Permission.CHECKPOINT_CHECK_IN
FIX = {
    "latitude": 38.05,
    "longitude": 114.52,
    "accuracy": 10,
    "captured_at": "2026-01-01T00:00:00Z",
}


async def label_url(user: Any, checkpoint_id: int) -> str:
    return (await json_of(await user.get(f"{URL}/{checkpoint_id}/qr"), 200))["url"]


async def test_png_and_svg_carry_the_signed_label_url(login_as, settings):
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")  # staff may print their 支行's labels
    checkpoint_id = ids["CA-0001"]
    url = await label_url(inspector, checkpoint_id)
    assert re.fullmatch(
        rf"{re.escape(settings.public_url)}/s/1\.{checkpoint_id}\.1\.[A-Za-z0-9_-]{{22}}", url
    )

    png = await inspector.get(f"{URL}/{checkpoint_id}/qr.png")
    assert png.status == 200 and png.content_type == "image/png"
    assert png.headers["Content-Disposition"] == 'inline; filename="CA-0001-qr1.png"'
    assert decode(Image.open(io.BytesIO(await png.read()))) == [url]

    svg = await inspector.get(f"{URL}/{checkpoint_id}/qr.svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert decode(svg_to_image(await svg.text())) == [url]


async def test_a_new_qr_code_retires_the_old_labels(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    checkpoint_id = ids["CA-0002"]
    old = await label_url(admin, checkpoint_id)
    renewed = await json_of(await admin.post(f"{URL}/{checkpoint_id}/qr/regenerate"), 200)
    assert renewed["generation"] == 2 and renewed["url"] != old
    assert renewed["url"] == await label_url(admin, checkpoint_id)

    engine = create_engine(settings.database_url)
    try:
        db = create_sessionmaker(engine)
        staff = await principal(db, "sjz_admin")
        async with db() as session:
            found, _ = await service.verify_qr(settings, session, staff, renewed["url"], SCAN)
            assert found.id == checkpoint_id
            with pytest.raises(QrRetired):
                await service.verify_qr(settings, session, staff, old, SCAN)
    finally:
        await engine.dispose()

    inspector = await login_as("inspector")  # an old label scanned on site
    fix = {
        "latitude": 38.05,
        "longitude": 114.52,
        "accuracy": 10,
        "captured_at": "2026-01-01T00:00:00Z",
    }
    retired = await json_of(
        await inspector.post(f"{URL}/check-in", json={"qr": old, "fix": fix}), 410
    )
    assert (retired["code"], retired["detail"]) == (
        "qr_retired",
        "此二维码标签已作废（检查点已重新生成二维码），请使用新标签",
    )
    events = await json_of(
        await admin.get("/api/v1/audit-events?action=checkpoint_qr_regenerated"), 200
    )
    assert events[0]["detail"]["retired_generation"] == 1
    assert events[0]["detail"]["generation"] == 2
    assert (await inspector.post(f"{URL}/{checkpoint_id}/qr/regenerate")).status == 403


async def test_forged_damaged_and_foreign_codes_are_invalid(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("admin")
    good = await label_url(admin, ids["CA-0001"])
    prefix, signature = good.rsplit(".", 1)
    forged = [
        f"{prefix}.{'A' * 22}",  # bad signature
        good.replace(f".{ids['CA-0001']}.", f".{ids['CA-0002']}."),  # another checkpoint
        good[:-3],  # damaged
        "https://example.com/product/12345",  # not ours
        "1.1.1",
    ]
    engine = create_engine(settings.database_url)
    try:
        db = create_sessionmaker(engine)
        staff = await principal(db, "admin")
        async with db() as session:
            for text in forged:
                with pytest.raises(QrInvalid):
                    await service.verify_qr(settings, session, staff, text, SCAN)
    finally:
        await engine.dispose()

    fix = {
        "latitude": 38.05,
        "longitude": 114.52,
        "accuracy": 10,
        "captured_at": "2026-01-01T00:00:00Z",
    }
    refused = await json_of(
        await admin.post(f"{URL}/check-in", json={"qr": forged[0], "fix": fix}), 404
    )
    assert (refused["code"], refused["detail"]) == (
        "qr_invalid",
        "二维码无效：不是本平台的检查点标签，或标签已损坏",
    )
    assert signature not in str(refused)

    # A checkpoint deleted after its label was printed: the label admits nobody.
    mistake = await create(admin, new_site(ids["HB-SJZ-CA"], code="CA-0404"))
    orphan = await label_url(admin, mistake["id"])
    assert (await admin.delete(f"{URL}/{mistake['id']}")).status == 204
    gone = await admin.post(f"{URL}/check-in", json={"qr": orphan, "fix": fix})
    assert (await json_of(gone, 404))["code"] == "qr_invalid"


@pytest.mark.parametrize("path", [f"{URL}/check-in", "/api/v1/inspections/on-site"])
async def test_labels_outside_the_jurisdiction_answer_as_forged_ones(login_as, settings, path):
    """Another 支行's inspector learns nothing from its labels: a current one, a retired one
    and a forged one get the same answer (status and body, no checkpoint id)."""
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    checkpoint_id = ids["CA-0002"]
    retired = await label_url(admin, checkpoint_id)
    await json_of(await admin.post(f"{URL}/{checkpoint_id}/qr/regenerate"), 200)
    current = await label_url(admin, checkpoint_id)
    prefix, _ = current.rsplit(".", 1)
    forged = f"{prefix}.{'A' * 22}"

    outsider = await login_as("inspector_bd")  # 保定 蠡县支行: CA-0002 is not theirs
    answers = []
    for text in (forged, current, retired):
        response = await outsider.post(path, json={"qr": text, "fix": FIX})
        answers.append((response.status, await response.json()))
    assert answers[0][0] == 404 and answers[0][1]["code"] == "qr_invalid"
    assert answers[1] == answers[0] and answers[2] == answers[0]
    assert str(checkpoint_id) not in str(answers[1][1])

    # Inside the jurisdiction a retired label still says so (the inspector can act on it).
    inspector = await login_as("inspector")
    mine = await inspector.post(path, json={"qr": retired, "fix": FIX})
    assert (await json_of(mine, 410))["code"] == "qr_retired"


def read_sheet(pdf: bytes) -> tuple[int, str, set[str]]:
    """Pages, text and the decoded QR codes of a label sheet."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    codes: set[str] = set()
    for page in reader.pages:
        for image in page.images:
            found = decode(image.image)
            assert len(found) == 1, f"an unreadable QR code on the sheet: {image.name}"
            codes.update(found)
    return len(reader.pages), text, codes


async def test_label_sheet_for_a_whole_sub_branch(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    qx = ids["HB-SJZ-QX"]
    added = [
        await create(admin, new_site(qx, code=f"QX-{n:04d}", name=f"桥西仓库{n}"))
        for n in range(2, 15)
    ]
    response = await admin.get(f"{URL}/labels.pdf?org_id={qx}")
    assert response.status == 200 and response.content_type == "application/pdf"
    assert (
        response.headers["Content-Disposition"]
        == 'inline; filename="checkpoint-labels-HB-SJZ-QX.pdf"'
    )
    pages, text, codes = read_sheet(await response.read())
    assert pages == 2 and LABELS_PER_PAGE == 12  # 14 labels
    for name, code in [("桥西商贸城", "QX-0001"), *((c["name"], c["code"]) for c in added)]:
        assert name in text and code in text
    assert "检查点二维码标签  桥西支行" in text and "第 2/2 页" in text
    expected = {await label_url(admin, ids["QX-0001"])} | {
        await label_url(admin, c["id"]) for c in added
    }
    assert codes == expected

    # 长安支行: exit points are left out unless asked for.
    ca = ids["HB-SJZ-CA"]
    _pages, text, codes = read_sheet(
        await (await admin.get(f"{URL}/labels.pdf?org_id={ca}")).read()
    )
    assert "CA-0001" in text and "CA-0002" in text and "CA-0003" not in text
    assert len(codes) == 2
    with_exited = await admin.get(f"{URL}/labels.pdf?org_id={ca}&include_exited=true")
    assert "CA-0003" in read_sheet(await with_exited.read())[1]


async def test_label_sheet_for_a_selection(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    selection = f"{ids['QX-0001']},{ids['CA-0002']}"
    response = await admin.get(f"{URL}/labels.pdf?ids={selection}")
    pages, text, codes = read_sheet(await response.read())
    assert pages == 1 and "QX-0001" in text and "CA-0002" in text and "CA-0001" not in text
    assert codes == {await label_url(admin, ids["QX-0001"]), await label_url(admin, ids["CA-0002"])}

    outside = await json_of(
        await admin.get(f"{URL}/labels.pdf?ids={ids['LC-0001']},{ids['CA-0001']}"), 404
    )
    assert outside["detail"] == f"检查点不存在：{ids['LC-0001']}"
    neither = await json_of(await admin.get(f"{URL}/labels.pdf"), 422)
    assert neither["errors"][0]["field"] == "query.ids"
    both = await admin.get(f"{URL}/labels.pdf?ids={ids['CA-0001']}&org_id={ids['HB-SJZ-CA']}")
    assert (await json_of(both, 422))["errors"][0]["field"] == "query.ids"
    garbage = await json_of(await admin.get(f"{URL}/labels.pdf?ids=1,,x"), 422)
    assert garbage["errors"][0]["field"] == "query.ids"
    province = await login_as("admin")  # 路南支行 (唐山) has no checkpoints: no blank sheet
    empty = await province.get(f"{URL}/labels.pdf?org_id={ids['HB-TS-LN']}")
    assert (await json_of(empty, 422))["errors"] == [
        {"field": "query.org_id", "message": "「路南支行」下没有可打印标签的检查点"}
    ]


async def test_reading_a_label_names_its_checkpoint_without_a_fix(login_as, settings):
    """read-label: what the phone shows right after a scan. It answers as check-in would
    (404 forged or another bank's or outside the jurisdiction, 410 retired) but binds,
    verifies and records nothing."""
    ids = await ids_by_code(settings)
    inspector = await login_as("inspector")
    checkpoint_id = ids["CA-0002"]  # not bound yet: a read must not bind it
    url = await label_url(inspector, checkpoint_id)
    before = await json_of(await inspector.get(f"{URL}/{checkpoint_id}"), 200)
    admin = await login_as("sjz_admin")
    audited = await audit_actions(admin)
    for text in (url, url.rsplit("/", 1)[1], f"  {url}\n"):  # the URL, the payload, as read
        read = await json_of(await inspector.post(f"{URL}/read-label", json={"qr": text}), 200)
        assert (read["id"], read["code"]) == (checkpoint_id, "CA-0002")
        assert read["name"] == before["name"] and read["customer_name"] == before["customer_name"]
        assert read["address"] == before["address"]
    after = await json_of(await inspector.get(f"{URL}/{checkpoint_id}"), 200)
    assert after["latitude"] is None and after["bound_at"] is None
    assert after["last_checked_in_at"] == before["last_checked_in_at"]
    assert await audit_actions(admin) == audited

    located = await json_of(
        await inspector.post(
            f"{URL}/read-label", json={"qr": await label_url(inspector, ids["CA-0001"])}
        ),
        200,
    )
    assert located["navigation"]["baidu"].startswith("http")  # 导航 before the fix

    prefix, _ = url.rsplit(".", 1)
    other_bank = qr.label_url("https://other.example", qr.sign("another-key", checkpoint_id, 1))
    for text in (f"{prefix}.{'A' * 22}", url[:-3], "https://example.com/p/1", other_bank):
        refused = await inspector.post(f"{URL}/read-label", json={"qr": text})
        assert (await json_of(refused, 404))["detail"] == (
            "二维码无效：不是本平台的检查点标签，或标签已损坏"
        )

    await json_of(await admin.post(f"{URL}/{checkpoint_id}/qr/regenerate"), 200)
    retired = await json_of(await inspector.post(f"{URL}/read-label", json={"qr": url}), 410)
    assert retired["code"] == "qr_retired"

    # Another 支行's inspector: the current label answers as a forged one, no id in it.
    current = await label_url(admin, checkpoint_id)
    outsider = await login_as("inspector_bd")
    foreign = await outsider.post(f"{URL}/read-label", json={"qr": current})
    body = await json_of(foreign, 404)
    assert body["code"] == "qr_invalid" and str(checkpoint_id) not in str(body)
    own = await label_url(outsider, ids["LC-0001"])
    mine = await json_of(await outsider.post(f"{URL}/read-label", json={"qr": own}), 200)
    assert mine["code"] == "LC-0001"

    # Strict input; and scanning is for those who check in on site.
    for bad in ({}, {"qr": ""}, {"qr": 12345}, {"qr": url, "fix": FIX}):
        assert (await inspector.post(f"{URL}/read-label", json=bad)).status == 422
    reviewer = await login_as("reviewer")
    assert (await reviewer.post(f"{URL}/read-label", json={"qr": current})).status == 403
