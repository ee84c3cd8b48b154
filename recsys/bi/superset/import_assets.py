"""Import the platform's bundle into Superset, overwriting what is there (run by
``recsys.bi.superset.import_dashboards`` with the BI virtualenv's Python).

Superset's ``import-dashboards`` command creates the charts, datasets and database of a
dashboard only when they are missing: an edited chart or a changed BI password would
never reach an existing installation.  Superset's "assets" import (what its
``/api/v1/assets/import/`` endpoint runs) overwrites every kind by UUID, which is what
"the repository is the source of truth" needs.  Nothing here imports the platform.

Usage: ``python import_assets.py BUNDLE.zip USERNAME``
"""

import sys
from zipfile import ZipFile


def main(bundle_path: str, username: str) -> None:
    from flask import g
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import security_manager
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.commands.importers.v1.utils import get_contents_from_bundle

        g.user = security_manager.find_user(username=username)
        with ZipFile(bundle_path) as bundle:
            contents = get_contents_from_bundle(bundle)
        ImportAssetsCommand(contents).run()


if __name__ == "__main__":
    main(*sys.argv[1:3])
