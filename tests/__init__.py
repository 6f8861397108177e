from . import (
    test_bus,
    test_instance,
    test_js,
    test_live_routes,
    test_mirror,
    test_resolution,
    test_routes,
    test_supervisor,
    test_test_connection,
)
