"""ansible.cfg's settings are options the pinned ansible-core still knows (an unknown key is silently ignored)."""

from __future__ import annotations

import configparser

from ansible.config.manager import ConfigManager

from testbed.localenv.config import REPO_ROOT

ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"


def test_internal_poll_interval_is_an_option_ansible_core_reads() -> None:
    """Fails when ansible-core drops or renames the option: the main process would poll every 1 ms again."""
    manager = ConfigManager(conf_file=str(ANSIBLE_CFG))
    definition = manager.get_configuration_definition("DEFAULT_INTERNAL_POLL_INTERVAL")
    assert {"key": "internal_poll_interval", "section": "defaults"} in definition["ini"]
    assert manager.get_config_value("DEFAULT_INTERNAL_POLL_INTERVAL") == 0.01


def test_every_defaults_key_is_an_option_of_ansible_core() -> None:
    parser = configparser.ConfigParser()
    parser.read(ANSIBLE_CFG)
    known = {
        (ini["section"], ini["key"])
        for definition in ConfigManager().get_configuration_definitions().values()
        for ini in definition.get("ini") or []
    }
    for section in parser.sections():
        for key in parser[section]:
            assert (section, key) in known, f"ansible.cfg [{section}] {key} is not an ansible-core option"
