"""The Debian mirror comes from the machine's apt sources, never from the code."""

from chaos.images import debian_mirror


def test_mirror_from_deb822_and_one_line_sources(tmp_path):
    deb822 = tmp_path / "debian.sources"
    deb822.write_text("Types: deb\nURIs: http://mirror.example.internal/debian/\nSuites: bookworm\n")
    assert debian_mirror([deb822]) == "http://mirror.example.internal/debian"
    legacy = tmp_path / "sources.list"
    legacy.write_text("# comment\ndeb [arch=amd64] http://other.example.internal/debian bookworm main\n")
    assert debian_mirror([tmp_path / "missing", legacy]) == "http://other.example.internal/debian"


def test_no_debian_mirror_leaves_the_choice_to_debootstrap(tmp_path):
    other = tmp_path / "nodesource.sources"
    other.write_text("URIs: https://deb.nodesource.example/node_20.x\n")
    assert debian_mirror([other]) is None
