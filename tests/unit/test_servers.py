"""--server names, Debian package versions, and servers' own --version output."""

import pytest

from chaos.errors import ChaosError
from chaos.servers import (
    image_version,
    package_version,
    parse_server,
    upstream_version,
    version_from_output,
    version_matches,
)

DPKG_STATUS = """\
Package: valkey-tools
Status: install ok installed
Version: 9.1.2+dfsg1-1

Package: valkey-server
Status: install ok installed
Priority: optional
Version: 9.1.2+dfsg1-1
Depends: valkey-tools (= 9.1.2+dfsg1-1)

Package: redis-server
Status: deinstall ok config-files
Version: 5:7.0.15-1~deb12u1
"""


def test_parse_server_names_versions_and_kinds():
    s = parse_server("valkey:9.1", "redis")
    assert (s.name, s.version, s.image, s.family.binary) == ("valkey", "9.1", "chaos/valkey:9.1", "valkey-server")
    assert parse_server(None, "redis").name == "redis" and parse_server(None, "redis").version is None
    assert parse_server("mariadb:11.8", "mysql").image == "chaos/mariadb:11.8"
    mysql = parse_server("mysql:9.7", "mysql")  # Oracle MySQL (until now `mysql` meant MariaDB)
    assert (mysql.image, mysql.family.binary, mysql.build_hint()) == ("chaos/mysql:9.7", "mysqld",
                                                                      "chaos images build mysql --release sid")
    assert parse_server(None, "mysql").name == "mariadb"  # the default: it runs as a local process here
    assert parse_server("valkey:9.1", "redis").build_hint() == "chaos images build valkey --release sid"
    assert parse_server("mariadb:11.8", "mysql").build_hint() == "chaos images build mariadb --release trixie"
    with pytest.raises(ChaosError, match="not a server for this topology; use redis, valkey"):
        parse_server("mariadb", "redis")
    with pytest.raises(ChaosError, match="MAJOR.MINOR"):
        parse_server("valkey:latest", "redis")


def test_debian_versions():
    assert upstream_version("5:7.0.15-1~deb12u1") == "7.0.15"
    assert upstream_version("9.1.2+dfsg1-1") == "9.1.2"
    assert upstream_version("1:11.8.3-1") == "11.8.3"
    assert package_version(DPKG_STATUS, "valkey-server") == "9.1.2+dfsg1-1"
    assert package_version(DPKG_STATUS, "redis-server") is None  # removed, only its config files left
    assert package_version(DPKG_STATUS, "mariadb-server") is None


def test_version_output_of_each_server():
    assert version_from_output("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1") == "7.0.15"
    assert version_from_output("Valkey server v=9.1.2 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64") == "9.1.2"
    assert version_from_output("/usr/sbin/mariadbd  Ver 10.11.14-MariaDB-0+deb12u2 for debian-linux-gnu") == "10.11.14"
    assert version_from_output("nothing here") is None
    assert version_matches("7.0.15", "7.0") and version_matches("7.0.15", None)
    assert not version_matches("7.0.15", "7.1") and not version_matches("10.11.6", "10.1")


def test_newest_image_tag():
    tags = ["chaos/redis:7.0", "chaos/redis:8.0", "chaos/redis:7"]
    assert max(tags, key=image_version) == "chaos/redis:8.0"
    assert image_version("chaos/mariadb:10.11") > image_version("chaos/mariadb:10.6")
