"""Task 12 — In stock? (FastAPI + uvicorn + Redis)

A small shop of four suitcases. The catalogue is a Python list; Redis keeps, for each
product, how many units are reserved (key ``item.ITEM_ID``). Write:

- ``get_item_by_id(item_id)``: the product with that id, or None. ``item_id`` is the
  text from the URL (or an int); anything that is not exactly a listed id is unknown.
- ``reserve_stock_by_id(item_id, stock)``: reserve ONE unit of the item in ONE atomic
  Redis step, only while fewer than ``stock`` units are reserved; True when reserved.
- ``get_current_reserved_stock_by_id(item_id)``: the reserved count (0 when unset).

Routes (exact JSON bodies):
- ``GET /list_products`` -> every product as
  ``{"itemId": 1, "itemName": "Suitcase 250", "price": 50, "initialAvailableQuantity": 4}``
- ``GET /list_products/{itemId}`` -> the same fields plus ``"currentQuantity"`` (initial
  stock minus reserved); unknown or malformed id -> 404 ``{"status": "Product not found"}``.
- ``GET /reserve_product/{itemId}`` -> unknown id: 404 ``{"status": "Product not found"}``;
  none left: ``{"status": "Not enough stock available", "itemId": 1}``; else one unit is
  reserved: ``{"status": "Reservation confirmed", "itemId": 1}``.
- Redis unreachable -> 503 ``{"status": "Redis unavailable", "error": "..."}``; the app
  recovers by itself once Redis is back.

Any number of concurrent requests, on any number of server processes, never reserve
more than the stock. The app listens on PORT (default 1245) of HOST (default 127.0.0.1);
its OpenAPI page is http://127.0.0.1:1245/docs.

Run it:  scripts/run 12           (or: python exercises/9-stock.py)
Or with two worker processes:  uvicorn 9-stock:app --app-dir exercises --workers 2
"""

import os
import signal

import uvicorn
from fastapi import FastAPI

# TODO: import what you need (redis.asyncio, fastapi.responses.JSONResponse, and the
#       ConnectionError / TimeoutError classes of redis.exceptions).

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

LIST_PRODUCTS = [
    {"itemId": 1, "itemName": "Suitcase 250", "price": 50, "initialAvailableQuantity": 4},
    {"itemId": 2, "itemName": "Suitcase 450", "price": 100, "initialAvailableQuantity": 10},
    {"itemId": 3, "itemName": "Suitcase 650", "price": 350, "initialAvailableQuantity": 2},
    {"itemId": 4, "itemName": "Suitcase 1050", "price": 550, "initialAvailableQuantity": 5},
]
NOT_FOUND = {"status": "Product not found"}

app = FastAPI(title="In stock?", description="Task 12: list products and reserve stock.")

# TODO: an asyncio Redis client on REDIS_URL (decode_responses=True).
client = None


def get_item_by_id(item_id):
    """The product whose id is ``item_id`` (an int or the text from the URL), else None."""
    # TODO: compare as text, so "abc", "-1" or "1.5" simply match nothing.


async def reserve_stock_by_id(item_id, stock) -> bool:
    """Reserve one unit of ``item_id`` if fewer than ``stock`` are reserved (atomic)."""
    # TODO: ONE atomic step on the key item.ITEM_ID: INCR and give the unit back (DECR)
    #       if that went over ``stock``, or a Lua script run with client.eval(). Reading
    #       the count, then writing count + 1 later, oversells under concurrent requests.
    return False


async def get_current_reserved_stock_by_id(item_id) -> int:
    """How many units of ``item_id`` are reserved (0 when nothing was reserved yet)."""
    # TODO
    return 0


# TODO: GET /list_products
# TODO: GET /list_products/{item_id}   (declare item_id: str, or "abc" gets a 422)
# TODO: GET /reserve_product/{item_id}
# TODO: an exception handler (@app.exception_handler) for Redis' ConnectionError and
#       TimeoutError that answers 503 {"status": "Redis unavailable", "error": str(exc)}


def serve(app) -> None:
    """Run ``app`` on HOST:PORT until Ctrl+C or SIGTERM, then exit 0 (given code)."""
    # uvicorn re-raises the signal that stopped it; as KeyboardInterrupt it ends quietly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "1245"))
    try:
        uvicorn.run(app, host=host, port=port)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    serve(app)
