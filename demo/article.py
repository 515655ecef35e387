"""What the article states (seed/phu-son-article.en.md): the figures the replay must reproduce and read back,
and the cast of the Trần Phú residential group (tổ dân phố Trần Phú). Names are invented; the figures are not."""

from __future__ import annotations

WARD_NAME = "Phường Phú Sơn"
CITY = "Thanh Hóa"
GROUP_NAME = "Tổ dân phố Trần Phú"

#: The teams of the Trần Phú group, by kind: 10 tổ ANXH, 1 tổ bảo vệ ANTT, the mediation team (tổ hòa giải),
#: 2 tổ PCCC liên gia, 10 tổ vận động.
TEAMS = {"anxh": 10, "security_order": 1, "mediation": 1, "fire_prevention": 2, "mobilisation": 10}
FIRE_POINTS = 1
MEDIATIONS_SUCCEEDED = 10
#: "nearly 60 million VND": below 60,000,000, and not far below.
RAISED_RANGE_VND = (55_000_000, 60_000_000)
ISSUERS = {"city_chairman", "ward_chairman"}

TEAM_LABELS = {"anxh": "Tổ an ninh xã hội số {n}", "security_order": "Tổ bảo vệ an ninh trật tự",
               "mediation": "Tổ hòa giải Trần Phú", "fire_prevention": "Tổ PCCC liên gia số {n}",
               "mobilisation": "Tổ vận động số {n}"}

_SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
_MIDDLE = {"male": "Văn", "female": "Thị"}
_GIVEN = {"male": ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Minh", "Nam", "Phúc", "Quang",
                   "Sơn", "Tuấn", "Việt", "Thắng", "Toàn", "Trung"],
          "female": ["Anh", "Châu", "Dung", "Giang", "Hà", "Hoa", "Hương", "Lan", "Mai", "Ngọc", "Oanh", "Phương",
                     "Quỳnh", "Thảo", "Trang", "Yến", "Xuân", "Linh"]}

#: Households of the group and their residents (3 each); who serves in which team is set in demo.ward.
HOUSEHOLDS = 12
PER_HOUSEHOLD = 3


def person(i: int) -> tuple[str, str]:
    """The i-th resident's name and sex (deterministic, so re-runs read the same)."""
    sex = "female" if i % 3 == 1 else "male"
    return f"{_SURNAMES[i % len(_SURNAMES)]} {_MIDDLE[sex]} {_GIVEN[sex][i % len(_GIVEN[sex])]}", sex


def team_name(kind: str, n: int) -> str:
    return TEAM_LABELS[kind].format(n=n)
