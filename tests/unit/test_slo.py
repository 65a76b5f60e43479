import pytest

from chaos.errors import ChaosError
from chaos.slo import parse_slo


def test_parse_and_check():
    slo = parse_slo("failover_seconds <= 10")
    assert str(slo) == "failover_seconds<=10"
    assert slo.check({"failover_seconds": 4.2}) == {
        "name": "failover_seconds<=10", "status": "pass", "passed": True, "value": 4.2, "threshold": "<=10"}
    assert not slo.check({"failover_seconds": 10.5})["passed"]
    assert not slo.check({"failover_seconds": None})["passed"]  # never happened: fails
    assert parse_slo("ops.fail<1").check({"ops": {"fail": 0}})["passed"]
    assert parse_slo("lost_writes==0").check({"lost_writes": 0})["passed"]


@pytest.mark.parametrize("text", ["failover_seconds", "x <== 3", "x<=ten", "<=3"])
def test_malformed(text):
    with pytest.raises(ChaosError, match="NAME OP NUMBER"):
        parse_slo(text)


def test_unknown_name():
    with pytest.raises(ChaosError, match="unknown measurement"):
        parse_slo("failover_secs<=3", known={"failover_seconds"})


def test_slo_on_a_measurement_whose_part_raised_is_unknown():
    slo = parse_slo("lost_writes<=3")
    result = slo.check({"measurement_errors": {"history": "HistoryError: unpaired"}})
    assert result["status"] == "unknown" and result["passed"] is False and "HistoryError" in result["error"]
    assert slo.check({})["status"] == "fail"  # missing, nothing raised: simply not there
