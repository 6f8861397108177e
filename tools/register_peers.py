"""Register (or update) the demo peers as ha.instance records.

Run inside ``odoo shell`` (scripts/demo.sh does it); reads the peers state
file named by HA_PEERS. Matching is by URL, so running it again updates the
token and name instead of creating duplicates.
"""

import json
import os

peers = json.loads(open(os.environ["HA_PEERS"]).read())  # noqa: SIM115
Instance = env["ha.instance"].with_context(active_test=False)  # noqa: F821 - provided by odoo shell
for sequence, peer in enumerate(peers, start=1):
    url = peer["url"].rstrip("/")
    values = {"name": peer["name"], "api_url": url, "api_token": peer["token"], "active": True, "sequence": sequence}
    instance = Instance.search([("api_url", "=", url)], limit=1)
    if instance:
        instance.write(values)
        print(f"updated instance {instance.name} ({url})")
    else:
        instance = Instance.create(values)
        print(f"registered instance {instance.name} ({url})")
env.cr.commit()  # noqa: F821
