from . import (
    test_instance,
    test_resolution,
    test_routes,
    test_test_connection,
)
