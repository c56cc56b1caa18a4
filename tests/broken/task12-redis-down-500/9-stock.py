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

import redis.asyncio as redis
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

LIST_PRODUCTS = [
    {"itemId": 1, "itemName": "Suitcase 250", "price": 50, "initialAvailableQuantity": 4},
    {"itemId": 2, "itemName": "Suitcase 450", "price": 100, "initialAvailableQuantity": 10},
    {"itemId": 3, "itemName": "Suitcase 650", "price": 350, "initialAvailableQuantity": 2},
    {"itemId": 4, "itemName": "Suitcase 1050", "price": 550, "initialAvailableQuantity": 5},
]
NOT_FOUND = {"status": "Product not found"}

app = FastAPI(title="In stock?", description="Task 12: list products and reserve stock.")

client = redis.Redis.from_url(
    REDIS_URL, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
)

# The check and the increment run inside Redis as one step (a Lua script), so no other
# request can slip in between them: reading first and writing later is what oversells.
RESERVE_ONE = """
local reserved = tonumber(redis.call('GET', KEYS[1]) or '0')
if reserved >= tonumber(ARGV[1]) then
    return 0
end
redis.call('INCR', KEYS[1])
return 1
"""


def get_item_by_id(item_id):
    """The product whose id is ``item_id`` (an int or the text from the URL), else None."""
    for product in LIST_PRODUCTS:
        if str(product["itemId"]) == str(item_id):
            return product
    return None


async def reserve_stock_by_id(item_id, stock) -> bool:
    """Reserve one unit of ``item_id`` if fewer than ``stock`` are reserved (atomic)."""
    return await client.eval(RESERVE_ONE, 1, f"item.{item_id}", stock) == 1


async def get_current_reserved_stock_by_id(item_id) -> int:
    """How many units of ``item_id`` are reserved (0 when nothing was reserved yet)."""
    return int(await client.get(f"item.{item_id}") or 0)


@app.get("/list_products")
async def list_products():
    return LIST_PRODUCTS


@app.get("/list_products/{item_id}")
async def product_detail(item_id: str):
    # item_id is a str on purpose: an int parameter would answer "abc" with 422, not 404.
    product = get_item_by_id(item_id)
    if product is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    reserved = await get_current_reserved_stock_by_id(product["itemId"])
    return {**product, "currentQuantity": product["initialAvailableQuantity"] - reserved}


@app.get("/reserve_product/{item_id}")
async def reserve_product(item_id: str):
    product = get_item_by_id(item_id)
    if product is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    if not await reserve_stock_by_id(product["itemId"], product["initialAvailableQuantity"]):
        return {"status": "Not enough stock available", "itemId": product["itemId"]}
    return {"status": "Reservation confirmed", "itemId": product["itemId"]}


# BROKEN: no handler for Redis errors, so Redis down gives a bare 500.


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
