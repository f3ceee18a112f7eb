import pytest
from django.core.checks import run_checks

from audit.checks import E203

pytestmark = pytest.mark.django_db


def deploy_check_ids():
    return [message.id for message in run_checks(tags=["dango"], include_deployment_checks=True)]


def test_chain_check_quiet_on_intact_log(audit_log, make_user):
    make_user("intact@example.com")
    assert audit_log.records()
    assert E203 not in deploy_check_ids()


def test_chain_check_fires_on_edited_line(audit_log, make_user):
    make_user("edited@example.com")
    make_user("other@example.com")
    lines = audit_log.path.read_text().splitlines()
    lines[0] = lines[0].replace("edited@example.com", "someone@example.com")
    audit_log.path.write_text("\n".join(lines) + "\n")

    messages = [m for m in run_checks(tags=["dango"], include_deployment_checks=True) if m.id == E203]
    assert len(messages) == 1
    assert "seq 1" in messages[0].msg


def test_chain_check_only_with_deploy(audit_log, make_user):
    make_user("plain@example.com")
    audit_log.path.write_text("not json\n")
    assert E203 not in [m.id for m in run_checks(tags=["dango"])]
