import pytest

from chaos.events import RunEvents


def test_listeners_receive_events_and_a_broken_one_does_not_stop_others(capsys):
    events = RunEvents()
    seen = []

    def broken(**_):
        raise RuntimeError("boom")

    events.second.add_listener(broken)
    events.second.add_listener(lambda **d: seen.append(d))
    events.second.fire(ok=3)
    events.second.fire(ok=4)
    events.fault.fire(fault="kill", active=True)  # no listener: nothing happens
    assert seen == [{"ok": 3}, {"ok": 4}]
    assert capsys.readouterr().err.count("boom") == 1


def test_a_misspelt_event_fails_loudly():
    events = RunEvents()
    with pytest.raises(AttributeError):
        events.secnd.add_listener(lambda **_: None)
    assert "elapsed" in events.say.arguments  # every event documents its arguments
