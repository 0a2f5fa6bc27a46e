"""End-to-end tests run the whole landscape."""

from tests.support.landscape import landscape, runtime, sales_user

__all__ = ["landscape", "runtime", "sales_user"]
