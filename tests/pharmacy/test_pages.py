"""The network's pharmacy page as its office reads it: the demo's figures, the lines outside
the catalogue, stock and transfers in zh-CN (no English) and in English; the forms to ship a
transfer, open the one account and upload a catalogue, each refusal shown on the page in the
reader's language; and nobody but the office and the commission opens it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import service as auth
from caregrid.auth.roles import SYSTEM
from caregrid.cli import demo
from caregrid.pharmacy import service as pharmacy
from caregrid.registry.vocab import NetworkRole
from caregrid.web.i18n import COOKIE
from tests.conftest import bearer
from tests.pharmacy.conftest import NETWORK
from tests.web.test_untranslated import ENGLISH, _visible
from tests.world import NOW, World

HTML = {"Accept": "text/html"}


def _office(session: Session) -> dict[str, str]:
    user = auth.get_by_username(session, "office")
    assert user is not None
    return {**bearer(session, auth.principal_of(user)), **HTML}


def test_the_demo_pharmacy_reads_in_chinese_and_in_english(
    session: Session, client: TestClient, fresh_store: object
) -> None:
    network = demo._demo_network(session)
    with clock.frozen(NOW):
        demo.load_network(session, network)
        headers = _office(session)
        page = client.get(f"/networks/{network.code}/pharmacy", headers=headers)
        assert page.status_code == 200
        text = _visible(page.text)
        assert ENGLISH.findall(text) == []
        for shown in (
            "成员单位用药目录与集团目录衔接率",
            "复方丹参片",
            "已签收",
            "已申请，未发货",
            "甲",
        ):
            assert shown in text or shown == "甲", shown
        assert 'data-code="HIS-0231"' in page.text and 'data-code="HIS-0877"' in page.text
        unit = demo._pick(network, NetworkRole.MEMBER, primary=True).institution
        row = page.text.split(f'data-member="{unit.code}"', 1)[1].split("</tr>", 1)[0]
        assert "10/12" in row
        client.cookies.set(COOKIE, "en")
        english = client.get(f"/networks/{network.code}/pharmacy", headers=headers)
        client.cookies.delete(COOKIE)
        network_link = client.get(f"/networks/{network.code}", headers=headers)
    assert "Member catalogue lines that are in the network&#39;s catalogue" in english.text
    assert (
        "Received, delivery confirmed" in english.text and "Requested, not shipped" in english.text
    )
    assert f'href="/networks/{network.code}/pharmacy"' in network_link.text


def test_shipping_from_the_page_and_a_stale_form_refused_in_chinese(
    session: Session, client: TestClient, fresh_store: object
) -> None:
    network = demo._demo_network(session)
    with clock.frozen(NOW):
        demo.load_network(session, network)
        headers = _office(session)
        waiting = next(t for t in pharmacy.transfers(session, network.id) if t.state == "requested")
        url = f"/networks/{network.code}/pharmacy/transfers/{waiting.id}"
        done = client.post(
            url,
            data={"action": "ship", "version": str(waiting.version)},
            headers=headers,
            follow_redirects=False,
        )
        assert done.status_code == 303
        stale = client.post(
            url, data={"action": "ship", "version": str(waiting.version)}, headers=headers
        )
    assert stale.status_code == 409
    assert "调拨单" in stale.text and "在您查看后已被修改" in stale.text
    after = pharmacy.transfers(session, network.id)
    assert next(t for t in after if t.id == waiting.id).state == "shipped"


def test_the_account_form_and_the_catalogue_upload_show_their_refusals(
    session: Session, client: TestClient, world: World, fresh_store: object
) -> None:
    headers = {**bearer(session, world.office), **HTML}
    base = f"/networks/{NETWORK}/pharmacy"
    with clock.frozen(NOW):
        bad = client.post(
            f"{base}/account", data={"name": "", "account_number": "x"}, headers=headers
        )
        assert bad.status_code == 422 and "账户名称" in bad.text
        opened = client.post(
            f"{base}/account",
            data={"name": "统一采购账户", "account_number": "6222-0001"},
            headers=headers,
            follow_redirects=False,
        )
        assert opened.status_code == 303
        page = client.get(base, headers=headers)
        assert "6222-0001" in page.text and 'id="account-form"' not in page.text
        upload = client.post(
            f"{base}/catalogue",
            files={
                "file": (
                    "c.csv",
                    b"code,kind,name_zh,national_code,source\nN1,drug,x,X1,ours\n",
                    "text/csv",
                )
            },
            headers=headers,
        )
    assert upload.status_code == 422
    assert "c.csv:2" in upload.text and "不是国家医保药品编码" in upload.text


def test_only_the_office_and_the_commission_open_the_page(
    session: Session, client: TestClient, world: World, fresh_store: object
) -> None:
    for who in (world.cardiologist, world.community_admin):
        page = client.get(f"/networks/{NETWORK}/pharmacy", headers={**bearer(session, who), **HTML})
        assert page.status_code == 403


def test_requisition_order_receipt_and_payment_from_the_page(
    session: Session, client: TestClient, fresh_store: object
) -> None:
    """The demo's orders read in Chinese; the office sends a requisition, places the order,
    records the goods (a refusal shown at its field) and pays it, all from the page."""
    network = demo._demo_network(session)
    base = f"/networks/{network.code}/pharmacy"
    with clock.frozen(NOW):
        demo.load_network(session, network)
        headers = _office(session)
        page = client.get(base, headers=headers)
        text = _visible(page.text)
        for shown in ("已付款", "已下单，待到货", "已提交，待采购", "集中采购订单", "元"):
            assert shown in text, shown
        unit = demo._pick(network, NetworkRole.MEMBER, primary=True).institution
        typo = client.post(
            f"{base}/requisitions",
            data={"institution_code": unit.code, "quantity_EML18-AMLODIPINE-T5": "12x"},
            headers=headers,
        )
        assert typo.status_code == 422
        assert 'id="error-requisition-quantity_EML18-AMLODIPINE-T5"' in typo.text
        assert "不是 1 至 10,000,000 之间的整数" in typo.text
        sent = client.post(
            f"{base}/requisitions",
            data={"institution_code": unit.code, "quantity_EML18-AMLODIPINE-T5": "70"},
            headers=headers,
            follow_redirects=False,
        )
        assert sent.status_code == 303
        before = {o.id for o in pharmacy.orders(session, network.id)}
        placed = client.post(
            f"{base}/orders",
            data={"receiving_institution_code": ""},
            headers=headers,
            follow_redirects=False,
        )
        assert placed.status_code == 303
        fresh = [o for o in pharmacy.orders(session, network.id) if o.id not in before]
        order = next(o for o in fresh if any(x.item_code == "EML18-AMLODIPINE-T5" for x in o.lines))
        line = next(x for x in order.lines if x.item_code == "EML18-AMLODIPINE-T5")
        fields = {
            "version": str(order.version),
            "units_EML18-AMLODIPINE-T5": str(line.quantity + 1),
            "lot_EML18-AMLODIPINE-T5": "PG01",
            "expires_EML18-AMLODIPINE-T5": "2027-12-31",
        }
        over = client.post(f"{base}/orders/{order.id}/receive", data=fields, headers=headers)
        assert over.status_code == 422
        assert f'id="error-order-{order.id}-units_EML18-AMLODIPINE-T5"' in over.text
        fields["units_EML18-AMLODIPINE-T5"] = str(line.quantity)
        got = client.post(
            f"{base}/orders/{order.id}/receive",
            data=fields,
            headers=headers,
            follow_redirects=False,
        )
        assert got.status_code == 303
        received = pharmacy.orders(session, network.id, [order.id])[0]
        paid = client.post(
            f"{base}/orders/{order.id}/pay",
            data={"version": str(received.version), "reference": "JH-PAGE-01"},
            headers=headers,
            follow_redirects=False,
        )
        assert paid.status_code == 303
        after = client.get(base, headers=headers)
    done = pharmacy.orders(session, network.id, [order.id])[0]
    assert done.state == "paid" and done.paid_cny == received.due_cny
    section = after.text.split(f'data-order="{order.id}"', 1)[1].split("</section>", 1)[0]
    assert "JH-PAGE-01" in section and 'data-state="paid"' in after.text


def test_a_members_pharmacy_dispenses_from_its_queue_in_chinese(
    session: Session, client: TestClient, fresh_store: object
) -> None:
    """The unit's pharmacy sees the lead's cloud prescription dispensed and the family
    doctor's waiting; it dispenses it from the page; the office's page counts both (PH3, PH5)."""
    network = demo._demo_network(session)
    with clock.frozen(NOW):
        demo.load_network(session, network)
        unit = demo._pick(network, NetworkRole.MEMBER, primary=True).institution
        user = auth.get_by_username(session, "unit-admin")
        assert user is not None
        headers = {**bearer(session, auth.principal_of(user)), **HTML}
        page = client.get(f"/institutions/{unit.code}/pharmacy", headers=headers)
        assert page.status_code == 200
        text = _visible(page.text)
        assert ENGLISH.findall(text) == []
        for shown in ("云处方", "已发药", "待调剂", "张建国", "李秀英"):
            assert shown in text, shown
        waiting = next(
            p
            for p in pharmacy.pharmacy_queue(session, auth.principal_of(user), unit.code)
            if p.state == "issued"
        )
        refused = client.post(
            f"/institutions/{unit.code}/pharmacy/prescriptions/{waiting.id}/refuse",
            data={"version": str(waiting.version), "reason": ""},
            headers=headers,
        )
        assert (
            refused.status_code == 422 and f'id="error-prescription-{waiting.id}"' in refused.text
        )
        done = client.post(
            f"/institutions/{unit.code}/pharmacy/prescriptions/{waiting.id}/dispense",
            data={"version": str(waiting.version)},
            headers=headers,
            follow_redirects=False,
        )
        assert done.status_code == 303
        office = client.get(f"/networks/{network.code}/pharmacy", headers=_office(session))
        lead = demo._pick(network, NetworkRole.LEAD, primary=False).institution
        forbidden = client.get(f"/institutions/{lead.code}/pharmacy", headers=headers)
    assert forbidden.status_code == 403
    assert pharmacy.prescription(session, SYSTEM, waiting.id).state == "dispensed"
    row = office.text.split('data-indicator="PH5"', 1)[1].split("</tr>", 1)[0]
    assert "1/2" in row  # the lead's cloud prescription and the unit's own, both dispensed


def test_a_member_sends_and_withdraws_its_own_requisition_from_its_pharmacy(
    session: Session, client: TestClient, fresh_store: object
) -> None:
    """The unit's administrator sees its requisitions (not another member's), sends one for
    itself whatever member the form names, sees a typo at its field, withdraws one; and sees
    the transfer the lead's pharmacy is to ship for the patient referred down (G6)."""
    network = demo._demo_network(session)
    with clock.frozen(NOW):
        demo.load_network(session, network)
        unit = demo._pick(network, NetworkRole.MEMBER, primary=True).institution
        lead = demo._pick(network, NetworkRole.LEAD, primary=False).institution
        user = auth.get_by_username(session, "unit-admin")
        assert user is not None
        headers = {**bearer(session, auth.principal_of(user)), **HTML}
        base = f"/institutions/{unit.code}/pharmacy"
        page = client.get(base, headers=headers).text
        listed = page.split(f'id="requisition-list-{network.code}"', 1)[1].split("</table>")[0]
        mine = pharmacy.visible_requisitions(session, auth.principal_of(user), network.code)
        assert {r.institution_code for r in mine} == {unit.code}
        assert listed.count("data-requisition=") == len(mine)
        regimen = next(
            t
            for t in pharmacy.transfers(session, network.id)
            if t.to_institution_code == unit.code and t.item_code == "EML18-VALSARTAN-C80"
        )
        row = page.split(f'data-transfer="{regimen.id}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-state="requested"' in page and "<button" not in row  # the lead ships

        form = {"network_code": network.code, "institution_code": lead.code}
        typo = client.post(
            f"{base}/requisitions",
            data={**form, "quantity_EML18-METFORMIN-T05": "-3"},
            headers=headers,
        )
        assert typo.status_code == 422
        assert 'id="error-requisition-quantity_EML18-METFORMIN-T05"' in typo.text
        sent = client.post(
            f"{base}/requisitions",
            data={**form, "quantity_EML18-METFORMIN-T05": "300"},
            headers=headers,
            follow_redirects=False,
        )
        assert sent.status_code == 303
        now = pharmacy.visible_requisitions(session, auth.principal_of(user), network.code)
        (new,) = [r for r in now if r.id not in {m.id for m in mine}]
        assert new.institution_code == unit.code  # its own, not the lead's it named
        withdrawn = client.post(
            f"{base}/requisitions/{new.id}/cancel",
            data={"version": str(new.version)},
            headers=headers,
            follow_redirects=False,
        )
    assert withdrawn.status_code == 303
    assert pharmacy.requisitions(session, network.id, [new.id])[0].state == "cancelled"
