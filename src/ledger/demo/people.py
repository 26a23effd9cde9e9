"""Customers of the demo: Chinese firms and people, and foreign importers."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ledger.aggregates.values import Customer, Delivery
from ledger.demo import catalogue as cat


@dataclass(frozen=True)
class Client:
    """A customer with what the demo needs to write its orders."""

    customer: Customer
    delivery: Delivery
    currency: str
    export: bool
    channels: tuple[str, ...]


def make_clients(rng: random.Random, count: int) -> list[Client]:
    """``count`` customers: about half Chinese firms, some Chinese people
    ordering small lots, and a third foreign importers."""
    makers = (_chinese_firm, _chinese_person, _foreign_firm)
    return [rng.choices(makers, weights=(50, 17, 33))[0](rng) for _ in range(count)]


def _person(rng: random.Random) -> tuple[str, str]:
    surname, s_py = rng.choice(cat.SURNAMES)
    given, g_py = rng.choice(cat.GIVEN)
    return surname + given, s_py + g_py


def _mobile(rng: random.Random) -> str:
    prefix = f"1{rng.choice('3456789')}{rng.randint(0, 9)}"
    return f"{prefix} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"


def _cn_address(rng: random.Random) -> tuple[str, str]:
    province, city, districts, area = rng.choice(cat.CN_CITIES)
    road = rng.choice(cat.CN_ROADS)
    address = f"{province}{city}市{rng.choice(districts)}{road}{rng.randint(1, 399)}号"
    if rng.random() < 0.4:
        address += f"{rng.choice('ABCDE')}栋{rng.randint(1, 12)}楼"
    return address, area


def _cn_mode(rng: random.Random) -> str:
    return rng.choices(("road", "express", "rail", "air"), weights=(55, 30, 10, 5))[0]


def _chinese_firm(rng: random.Random) -> Client:
    trade, slug = rng.choice(cat.CN_TRADE_NAMES)
    address, area = _cn_address(rng)
    city = next(c for _, c, _, a in cat.CN_CITIES if a == area)
    name = f"{city}{trade}{rng.choice(cat.CN_INDUSTRIES)}"
    contact, _ = _person(rng)
    phone = f"{area}-{rng.randint(2000, 8999)} {rng.randint(1000, 9999)}"
    customer = Customer(name, phone, f"purchase@{slug}{rng.randint(1, 99)}.com.cn", address)
    delivery = Delivery(address, contact, _mobile(rng), _cn_mode(rng))
    return Client(customer, delivery, "CNY", False, ("phone", "email", "platform", "onsite"))


def _chinese_person(rng: random.Random) -> Client:
    name, handle = _person(rng)
    address, _ = _cn_address(rng)
    mobile = _mobile(rng)
    email = f"{handle}{rng.randint(1, 999)}@{rng.choice(('qq.com', '163.com', '126.com'))}"
    customer = Customer(name, mobile, email, address)
    delivery = Delivery(address, name, mobile, rng.choice(("express", "road")))
    return Client(customer, delivery, "CNY", False, ("phone", "platform", "onsite"))


def _foreign_firm(rng: random.Random) -> Client:
    country = rng.choice(cat.COUNTRIES)
    street, town = rng.choice(country.cities)
    firm = rng.choice(cat.LATIN_FIRMS)
    first, last = rng.choice(cat.LATIN_FIRST), rng.choice(cat.LATIN_LAST)
    domain = firm.lower().replace(" ", "")[:14] + "." + country.tld
    domain = domain.translate(str.maketrans("áâãàçéêíóôõúüñ", "aaaaceeiooouun"))
    phone = f"{country.phone_prefix} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    address = f"{street}, {town}, {country.name}"
    customer = Customer(f"{firm} {country.suffix}", phone, f"compras@{domain}", address)
    mode = rng.choices(("sea", "air", "express"), weights=(75, 15, 10))[0]
    delivery = Delivery(address, f"{first} {last}", phone, mode)
    return Client(customer, delivery, country.currency, True, ("email", "platform"))
