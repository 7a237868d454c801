"""Root conftest: nothing global; fixtures live next to the tests that use them."""
