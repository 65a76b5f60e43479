"""Each setting is declared once, as a config field: its command-line option, type and default
come from the field (a subclass that changes a default keeps the option's help)."""

import dataclasses

import click
import pytest
from click.testing import CliRunner

from chaos.errors import ChaosError
from chaos.options import config_from_options, options_of


def parsed(config_cls, args, **kwargs):
    seen = {}

    @click.command()
    @options_of(config_cls, **kwargs)
    def command(**options):
        seen.update(options)

    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    return config_from_options(config_cls, seen)


def test_options_are_the_config_fields_with_their_defaults_and_types():
    from scenarios.master_kill import MasterKillConfig

    config = parsed(MasterKillConfig, ["--users", "5", "--slo", "lost_writes<=1", "--slo", "failover_seconds<=9",
                                        "--keep", "--stale-replica", "1.5", "--backend", "docker"])
    assert isinstance(config, MasterKillConfig)
    assert config.users == 5 and config.keep is True and config.stale_replica == 1.5 and config.backend == "docker"
    assert config.slo == ["lost_writes<=1", "failover_seconds<=9"]
    defaults = MasterKillConfig()
    untouched = {f.name for f in dataclasses.fields(MasterKillConfig)} - {"users", "slo", "keep", "stale_replica",
                                                                           "backend", "workers"}
    assert all(getattr(config, n) == getattr(defaults, n) for n in untouched)


def test_a_subclass_default_shows_with_the_base_help_and_excluded_options_are_refused():
    from scenarios.replica_stop import ReplicaStopConfig
    from scenarios.scale_in import ScaleInConfig

    assert parsed(ReplicaStopConfig, []).users == 8 and parsed(ReplicaStopConfig, []).rate == 1000.0
    config = parsed(ScaleInConfig, [])
    assert config.masters == 4 and config.probe_interval_ms == 100.0

    @click.command()
    @options_of(ScaleInConfig, exclude=("target",))
    def command(**options):
        pass

    help_text = CliRunner().invoke(command, ["--help"]).output
    assert "--masters INTEGER" in help_text and "[default: 4]" in help_text and "--target" not in help_text
    assert CliRunner().invoke(command, ["--target", "redis-1"]).exit_code == 2
    assert CliRunner().invoke(command, ["--method", "fast"]).exit_code == 2  # choices from the field


def test_every_scenario_command_takes_only_fields_of_the_config_it_builds():
    from chaos.scenarios_registry import available, command, plan

    for name, _ in available():
        cmd = command(name)
        fields = {f.name for f in dataclasses.fields(cmd.config)}
        params = {p.name for p in cmd.params}
        assert {"duration", "seed", "slo", "backend"} <= params <= fields, name  # so **options cannot fail at run time
        assert plan(name).name == name


def test_a_config_offers_its_backends_and_they_are_not_a_setting():
    from chaos.settings import RedisRunConfig, ReplicationConfig, RunConfig

    for cls in (RedisRunConfig, ReplicationConfig):
        config = cls(backend="docker")
        config.validate()  # docker is one of their backends
        assert "BACKENDS" not in dataclasses.asdict(config)
    import pytest

    from chaos.errors import ChaosError

    with pytest.raises(ChaosError, match="backend 'docker' is not available"):
        RunConfig(backend="docker").validate()


def test_stray_writes_are_refused_on_a_pair_the_user_owns():
    from scenarios.replica_stop import ReplicaStopConfig

    config = ReplicaStopConfig(stray_write=True, source="mysql://root@127.0.0.1:3306",
                               replica="mysql://root@127.0.0.1:3307")
    with pytest.raises(ChaosError, match="never on your own pair"):
        config.validate()
    ReplicaStopConfig(stray_write=True).validate()  # on a pair the run starts: allowed
