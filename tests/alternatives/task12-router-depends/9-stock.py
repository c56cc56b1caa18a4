"""Task 12, another correct way: an APIRouter, the product found by a dependency.

The unknown id is an HTTPException raised by the dependency and turned into the course's
body by an exception handler; the reservation is a registered Lua script that INCRs and
undoes its own INCR when it went over the stock.
"""

import os
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from redis import asyncio as aioredis

from pykue.web.guard import protect, serve

list_products = [
    {"id": 1, "name": "Suitcase 250", "price": 50, "stock": 4},
    {"id": 2, "name": "Suitcase 450", "price": 100, "stock": 10},
    {"id": 3, "name": "Suitcase 650", "price": 350, "stock": 2},
    {"id": 4, "name": "Suitcase 1050", "price": 550, "stock": 5},
]

pool = aioredis.BlockingConnectionPool.from_url(
    os.environ.get("REDIS_URL", "redis://localhost:6379/0"), max_connections=20, timeout=5
)
store = aioredis.Redis(connection_pool=pool)
take_one = store.register_script(
    """
    local now = redis.call('INCR', KEYS[1])
    if now > tonumber(ARGV[1]) then
        redis.call('DECR', KEYS[1])
        return 0
    end
    return 1
    """
)


def get_item_by_id(item_id):
    return next((p for p in list_products if f"{p['id']}" == f"{item_id}"), None)


async def reserve_stock_by_id(item_id, stock):
    await store.set(f"item.{item_id}", stock)


async def get_current_reserved_stock_by_id(item_id):
    return int((await store.get(f"item.{item_id}")) or b"0")


async def reserve_one_by_id(item_id, stock):
    return bool(await take_one(keys=[f"item.{item_id}"], args=[stock]))


def product(item_id: str) -> dict:
    found = get_item_by_id(item_id)
    if found is None:
        raise HTTPException(404, "Product not found")
    return found


Product = Annotated[dict, Depends(product)]


def public(p: dict) -> dict:
    names = {"id": "itemId", "name": "itemName", "price": "price"}
    return {names[k]: v for k, v in p.items() if k in names} | {
        "initialAvailableQuantity": p["stock"]
    }


shop = APIRouter()


@shop.get("/list_products")
async def catalogue():
    return [public(p) for p in list_products]


@shop.get("/list_products/{item_id}")
async def detail(p: Product):
    reserved = await get_current_reserved_stock_by_id(p["id"])
    return {**public(p), "currentQuantity": p["stock"] - reserved}


@shop.get("/reserve_product/{item_id}")
async def reserve(p: Product):
    if await reserve_one_by_id(p["id"], p["stock"]):
        return {"status": "Reservation confirmed", "itemId": p["id"]}
    return {"status": "Not enough stock available", "itemId": p["id"]}


app = protect(FastAPI(title="In stock? (router)"))
app.include_router(shop)


@app.exception_handler(HTTPException)
async def as_status(request: Request, exc: HTTPException):
    return JSONResponse({"status": exc.detail}, status_code=exc.status_code)


if __name__ == "__main__":
    serve(app)
