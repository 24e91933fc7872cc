#!/bin/sh
# V4.1.0 -> V4.2.3 metadata upgrade (the guide's `sh docker_oms_ce_version_upgrade.sh`), run
# inside the V4.2.3 container once per region. Prints
# "[Completed] All initialization steps are executed." on success.
exec /bin/omssim upgrade-410 "$@"
