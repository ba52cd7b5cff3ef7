"""Who follows whom in the sample world: audiences worth measuring.

The accounts people follow most -- the world's first `count` users, its influencers -- get
their traits (country, gender, two topics) from a stream of their own, so that every chunk of
users, generated apart, knows them. Users follow influencers of their topics, country and
language (a beauty account's audience mostly female, a football account's mostly male, a
Brazilian account's mostly BR), by a Gumbel top-k draw over every influencer with weights

  log w = -2/3 log(rank + 1)           popularity (the old power law's density)
          + TOPIC_PULL   x shares the account's first topic  (+ half of it for its second)
          + COUNTRY_PULL x same country  + LANGUAGE_PULL x same language

Some accounts buy fake followers in bulk: BUYERS of them want a fake share drawn uniformly in
[0.05, 0.8]; fakes follow accounts in proportion to that demand, so the realised fake share of
an audience runs from 0 to about 0.8. Truth: an audience's composition is its followers' truth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from world import vocab as wv

TOPIC_PULL, COUNTRY_PULL, LANGUAGE_PULL = 2.5, 2.0, 0.7
BUYERS = 0.5
MAX_FAKE_SHARE = 0.8
# Influencer follows per authentic user, on average: the old graph's k draws (lognormal(2, 1),
# mean ~12) of which a share (count / users) ** (1/3) landed on influencers.
REAL_INFLUENCER_FOLLOWS = 12.0 * (1 / 500) ** (1 / 3)


def influencer_count(n_users: int) -> int:
    return max(5, n_users // 500)


@dataclass(frozen=True)
class Accounts:
    country: np.ndarray       # ISO code per influencer
    language: np.ndarray
    female: np.ndarray        # bool
    topics: np.ndarray        # (count, 2) topic indices
    popularity: np.ndarray    # log weight of rank
    fake_demand: np.ndarray   # expected fake follows per account, up to scale

    @property
    def count(self) -> int:
        return len(self.country)


def accounts(seed: int, n_users: int) -> Accounts:
    """The influencers' traits, the same in every chunk (their own RNG stream)."""
    rng = np.random.default_rng([seed, 7])
    count = influencer_count(n_users)
    codes = list(wv.COUNTRIES)
    weights = np.array([wv.COUNTRIES[c][4] for c in codes], dtype=float)
    country = np.array(codes)[rng.choice(len(codes), size=count, p=weights / weights.sum())]
    language = np.array([wv.COUNTRIES[c][1] for c in country])
    female = rng.random(count) < 0.52
    names = list(wv.TOPICS)
    skew = np.array([wv.TOPICS[t][0] for t in names])
    topics = np.zeros((count, 2), dtype=np.int64)
    for i in range(count):
        p = np.sqrt(skew) if female[i] else 1 / np.sqrt(skew)
        topics[i] = rng.choice(len(names), size=2, replace=False, p=p / p.sum())
    popularity = -(2 / 3) * np.log(np.arange(count) + 1.0)
    wants = np.where(rng.random(count) < BUYERS, rng.uniform(0.05, MAX_FAKE_SHARE, count), 0.0)
    # fake follows wanted = share / (1 - share) x the real followers expected from popularity
    demand = wants / (1 - wants) * np.exp(popularity)
    return Accounts(country, language, female, topics, popularity, demand)


def followed_influencers(rng: np.random.Generator, acc: Accounts, topics: list[int], country: str, language: str,
                         k: int) -> np.ndarray:
    """k distinct influencer indices an authentic user follows."""
    k = min(k, acc.count)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    logw = (acc.popularity + TOPIC_PULL * np.isin(acc.topics[:, 0], topics)
            + 0.5 * TOPIC_PULL * np.isin(acc.topics[:, 1], topics)
            + COUNTRY_PULL * (acc.country == country) + LANGUAGE_PULL * (acc.language == language))
    gumbel = -np.log(-np.log(rng.random(acc.count)))
    return np.argsort(-(logw + gumbel))[:k]


def bought_influencers(rng: np.random.Generator, acc: Accounts, n_users: int, fake_share: float) -> np.ndarray:
    """The influencers one fake follows: as many as the accounts' demand needs, drawn in its proportion."""
    total = acc.fake_demand.sum()
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    # Real influencer follows in the world ~ authentic users x influencer follows each; spread
    # the demand's share of them over the world's fakes.
    real_follows = n_users * (1 - fake_share) * REAL_INFLUENCER_FOLLOWS
    scale = real_follows / np.exp(acc.popularity).sum()
    per_fake = total * scale / max(n_users * fake_share, 1.0)
    m = min(acc.count, int(rng.poisson(per_fake)))
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    gumbel = -np.log(-np.log(rng.random(acc.count)))
    with np.errstate(divide="ignore"):
        logw = np.log(acc.fake_demand)
    order = np.argsort(-(logw + gumbel))[:m]
    return order[np.isfinite(logw[order])]  # accounts that buy nothing get no fake

