"""Task 12 — In stock? (FastAPI + uvicorn + Redis)

A small shop of four suitcases. The catalogue ``list_products`` is given in the course's
shape (``id``, ``name``, ``price``, ``stock``); Redis keeps, for each product, how many
units are reserved (key ``item.ITEM_ID``). Write:

- ``get_item_by_id(item_id)``: the product with that id, or None. ``item_id`` is the
  text from the URL (or an int); anything that is not exactly a listed id is unknown.
- ``item_fields(item)``: a product as the routes show it: ``id`` -> ``itemId``, ``name``
  -> ``itemName``, ``price`` -> ``price``, ``stock`` -> ``initialAvailableQuantity``.
- ``reserve_stock_by_id(item_id, stock)``: set the reserved count of the item to ``stock``
  (the course's function: a plain SET of ``item.ITEM_ID``).
- ``get_current_reserved_stock_by_id(item_id)``: the reserved count (0 when unset).
- ``reserve_one_by_id(item_id, stock)``: reserve ONE unit in ONE atomic Redis step, only
  while fewer than ``stock`` units are reserved; True when reserved. (The course reads
  the count, then calls ``reserveStockById`` with count + 1: two steps, which oversell.)

Routes (exact JSON bodies):
- ``GET /list_products`` -> every product as
  ``{"itemId": 1, "itemName": "Suitcase 250", "price": 50, "initialAvailableQuantity": 4}``
- ``GET /list_products/{itemId}`` -> the same fields plus ``"currentQuantity"`` (initial
  stock minus reserved); unknown or malformed id -> 404 ``{"status": "Product not found"}``.
- ``GET /reserve_product/{itemId}`` -> unknown id: 404 ``{"status": "Product not found"}``;
  none left: ``{"status": "Not enough stock available", "itemId": 1}``; else one unit is
  reserved: ``{"status": "Reservation confirmed", "itemId": 1}``.

Any number of concurrent requests, on any number of server processes, never reserve
more than the stock, and one server process holds at most 20 Redis connections however
many requests arrive. ``protect(app)`` (given) answers 503 with the cause while Redis is
down, too slow or full, refuses requests for other host names, and serves /docs offline;
``serve(app)`` (given) runs uvicorn on PORT (default 1245) of HOST (default 127.0.0.1).

Run it:  scripts/run 12           (or: python exercises/9-stock.py)
Or with two worker processes:  uvicorn 9-stock:app --app-dir exercises --workers 2
"""

import os
import sys
from contextlib import asynccontextmanager
from typing import Annotated

try:
    import redis.asyncio as redis
    from fastapi import FastAPI, Path
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel

    from pykue.web.guard import protect, serve
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

list_products = [
    {"id": 1, "name": "Suitcase 250", "price": 50, "stock": 4},
    {"id": 2, "name": "Suitcase 450", "price": 100, "stock": 10},
    {"id": 3, "name": "Suitcase 650", "price": 350, "stock": 2},
    {"id": 4, "name": "Suitcase 1050", "price": 550, "stock": 5},
]


# The shapes of the answers, for the OpenAPI page (/docs) and its checks (given code).
class Product(BaseModel):
    itemId: int
    itemName: str
    price: int
    initialAvailableQuantity: int


class ProductDetail(Product):
    currentQuantity: int


class Reservation(BaseModel):
    status: str
    itemId: int


class Status(BaseModel):
    status: str


# The id in the URL, as text: an int parameter would answer "abc" with FastAPI's 422, not
# 404. The example lets /docs (and the schema checks) try a product that exists.
ItemId = Annotated[str, Path(openapi_examples={"a suitcase": {"value": "1"}})]
NOT_FOUND = {"status": "Product not found"}
NOT_FOUND_RESPONSE = {404: {"model": Status, "description": "No product has this id"}}

# At most 20 connections per server process: a burst of requests waits (up to 5 s) for a
# free connection instead of opening one per request.
pool = redis.BlockingConnectionPool.from_url(
    REDIS_URL,
    max_connections=20,
    timeout=5,
    decode_responses=True,
    socket_connect_timeout=2,
    socket_timeout=5,
)
client = redis.Redis(connection_pool=pool)

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
    for item in list_products:
        if str(item["id"]) == str(item_id):
            return item
    return None


def item_fields(item) -> dict:
    """``item`` as the routes show it (the course's field names)."""
    return {
        "itemId": item["id"],
        "itemName": item["name"],
        "price": item["price"],
        "initialAvailableQuantity": item["stock"],
    }


async def reserve_stock_by_id(item_id, stock) -> None:
    """Set the reserved count of ``item_id`` to ``stock`` (the course's reserveStockById)."""
    await client.set(f"item.{item_id}", stock)


async def get_current_reserved_stock_by_id(item_id) -> int:
    """How many units of ``item_id`` are reserved (0 when nothing was reserved yet)."""
    return int(await client.get(f"item.{item_id}") or 0)


async def reserve_one_by_id(item_id, stock) -> bool:
    """Reserve one unit of ``item_id`` if fewer than ``stock`` are reserved (atomic)."""
    return await client.eval(RESERVE_ONE, 1, f"item.{item_id}", stock) == 1


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    await client.aclose()
    await pool.disconnect()


app = protect(
    FastAPI(
        title="In stock?",
        description="Task 12: list products and reserve stock.",
        lifespan=lifespan,
    )
)


@app.get("/list_products", response_model=list[Product])
async def all_products():
    return [item_fields(item) for item in list_products]


@app.get("/list_products/{item_id}", response_model=ProductDetail, responses=NOT_FOUND_RESPONSE)
async def product_detail(item_id: ItemId):
    item = get_item_by_id(item_id)
    if item is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    reserved = await get_current_reserved_stock_by_id(item["id"])
    return {**item_fields(item), "currentQuantity": item["stock"] - reserved}


@app.get("/reserve_product/{item_id}", response_model=Reservation, responses=NOT_FOUND_RESPONSE)
async def reserve_product(item_id: ItemId):
    item = get_item_by_id(item_id)
    if item is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    if not await reserve_one_by_id(item["id"], item["stock"]):
        return {"status": "Not enough stock available", "itemId": item["id"]}
    return {"status": "Reservation confirmed", "itemId": item["id"]}


if __name__ == "__main__":
    serve(app)
