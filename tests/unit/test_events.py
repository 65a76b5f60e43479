from chaos.events import EventBus


def test_listeners_receive_events_and_a_broken_one_does_not_stop_others(capsys):
    bus = EventBus()
    seen = []

    def broken(**_):
        raise RuntimeError("boom")

    bus.on("second", broken)
    bus.on("second", lambda **d: seen.append(d))
    bus.fire("second", ok=3)
    bus.fire("second", ok=4)
    bus.fire("other", x=1)
    assert seen == [{"ok": 3}, {"ok": 4}]
    assert capsys.readouterr().err.count("boom") == 1
