#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    from django.core.management import execute_from_command_line

    from orchestrator.lib.bindguard import check_manage_argv

    check_manage_argv(sys.argv)  # runserver on a public address with the development SECRET_KEY: refuse
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
