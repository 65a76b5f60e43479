"""--image on literal text: the probe's output, the image's CMD, redis.conf lines from arguments,
the versions the harness knows how to drive, image references."""

from chaos.image_ref import command_settings, known_version, parse_probe, redis_lines, split_ref
from chaos.topology.redis_cluster import node_config


def test_the_probe_names_binary_family_and_version():
    assert parse_probe("chaos-binary redis-server /usr/bin/redis-server\nRedis server v=7.0.15 sha=00000000:0\n") == \
        ("redis-server", "redis", "7.0.15")
    assert parse_probe("chaos-binary valkey-server /usr/bin/valkey-server\nValkey server v=9.1.2 sha=0\n") == \
        ("valkey-server", "valkey", "9.1.2")
    # Debian's redis-server can be valkey's compatibility link: the version line says which
    assert parse_probe("chaos-binary redis-server /usr/bin/redis-server\nValkey server v=8.1.1\n")[1] == "valkey"
    # mariadbd may warn before it says its version (measured in chaos/mariadb:10.11)
    assert parse_probe("chaos-binary mariadbd /usr/sbin/mariadbd\n2026-12-02  4:10:20 0 [Warning] failed to retrieve "
                       "the MAC address\n/usr/sbin/mariadbd  Ver 10.11.18-MariaDB-0+deb12u1 for debian-linux-gnu\n") == \
        ("mariadbd", "mariadb", "10.11.18")
    assert parse_probe("chaos-binary mysqld /usr/sbin/mysqld\n/usr/sbin/mysqld  Ver 9.7.4 for Linux on x86_64\n") == \
        ("mysqld", "mysql", "9.7.4")
    assert parse_probe("sh: 1: redis-server: not found\n") is None


def test_only_versions_the_harness_drives_are_known():
    assert known_version("redis", "7.0.15") and known_version("valkey", "9.1.2") and known_version("mysql", "9.7.4")
    assert not known_version("redis", "6.2.14") and not known_version("mariadb", "10.5.1")
    assert not known_version("redis", "")


def test_the_images_cmd_gives_its_config_file_and_arguments():
    assert command_settings(["redis-server", "/usr/local/etc/redis/redis.conf", "--hz", "25"], "redis-server") == \
        ("/usr/local/etc/redis/redis.conf", ["--hz", "25"])
    assert command_settings(["redis-server"], "redis-server") == (None, [])
    assert command_settings(["/bin/sh", "-c", "sleep 1"], "redis-server") == (None, [])  # not the server
    assert command_settings(["valkey-server /etc/valkey/valkey.conf"], "valkey-server") == ("/etc/valkey/valkey.conf", [])
    assert command_settings(["mariadbd", "--defaults-extra-file=/etc/mysql/team.cnf", "--skip-log-bin"], "mariadbd") == \
        ("/etc/mysql/team.cnf", ["--skip-log-bin"])
    assert command_settings(None, "mysqld") == (None, [])


def test_redis_arguments_become_config_lines_the_harness_lines_follow(tmp_path):
    assert redis_lines(["--appendonly", "yes", "--save", "", "--hz", "25"]) == ['appendonly yes', 'save ""', "hz 25"]
    from chaos.backends.base import NodeSpec

    spec = NodeSpec(name="redis-1", kind="redis", host="127.0.0.11", port=7001, dir=tmp_path, argv=["redis-server"])
    lines = node_config(spec, 1000, {"conf": "/etc/redis/team.conf", "args": ["--hz", "25", "--port", "6379"]}
                        ).splitlines()
    assert lines[0] == "include /etc/redis/team.conf" and lines[1:3] == ["hz 25", "port 6379"]
    assert lines.index("port 7001") > lines.index("port 6379")  # the last line wins in redis.conf: the harness's
    assert node_config(spec, 1000).splitlines()[0] == "port 7001"


def test_image_references_split_into_repository_and_tag():
    assert split_ref("127.0.0.1:5000/team/redis:7.0") == ("127.0.0.1:5000/team/redis", "7.0")
    assert split_ref("127.0.0.1:5000/team/redis") == ("127.0.0.1:5000/team/redis", "latest")
    assert split_ref("chaos/redis:7.0") == ("chaos/redis", "7.0")
    assert split_ref("r/x@sha256:abc") == ("r/x", "sha256:abc")
