"""Task 12, another correct way: plain ``def`` routes and the synchronous redis-py client.

FastAPI runs sync routes in its thread pool; the bounded pool is redis-py's blocking one.
A reservation is INCR first, then a check of the new count: over the stock, DECR gives
the unit back (every request sees its own INCR result, so none oversells).
"""

import os

import redis
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from pykue.web.guard import protect, serve

list_products = [
    {"id": 1, "name": "Suitcase 250", "price": 50, "stock": 4},
    {"id": 2, "name": "Suitcase 450", "price": 100, "stock": 10},
    {"id": 3, "name": "Suitcase 650", "price": 350, "stock": 2},
    {"id": 4, "name": "Suitcase 1050", "price": 550, "stock": 5},
]
BY_TEXT_ID = {str(p["id"]): p for p in list_products}

db = redis.Redis(
    connection_pool=redis.BlockingConnectionPool.from_url(
        os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
        max_connections=20,
        timeout=5,
        socket_connect_timeout=2,
        socket_timeout=5,
    )
)


def get_item_by_id(item_id):
    return BY_TEXT_ID.get(str(item_id))


def shown(product):
    return dict(
        itemId=product["id"],
        itemName=product["name"],
        price=product["price"],
        initialAvailableQuantity=product["stock"],
    )


def reserve_stock_by_id(item_id, stock):
    db.set(f"item.{item_id}", stock)


def get_current_reserved_stock_by_id(item_id):
    value = db.get(f"item.{item_id}")
    return int(value) if value is not None else 0


def reserve_one_by_id(item_id, stock):
    key = f"item.{item_id}"
    if db.incr(key) <= stock:
        return True
    db.decr(key)
    return False


def missing():
    return JSONResponse({"status": "Product not found"}, status_code=404)


app = protect(FastAPI(title="In stock? (sync)"))


@app.get("/list_products")
def list_all():
    return list(map(shown, list_products))


@app.get("/list_products/{item_id}")
def one(item_id: str):
    product = get_item_by_id(item_id)
    if not product:
        return missing()
    left = product["stock"] - get_current_reserved_stock_by_id(product["id"])
    return shown(product) | {"currentQuantity": left}


@app.get("/reserve_product/{item_id}")
def reserve(item_id: str):
    product = get_item_by_id(item_id)
    if not product:
        return missing()
    ok = reserve_one_by_id(product["id"], product["stock"])
    status = "Reservation confirmed" if ok else "Not enough stock available"
    return {"status": status, "itemId": product["id"]}


if __name__ == "__main__":
    serve(app)
