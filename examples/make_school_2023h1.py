#!/usr/bin/env python3
"""Writes examples/school-2023h1.jsonl: the example log of a county Party School
(县委党校) for the first half of 2023, from which every figure of the seed report
(/work/shared/DOMAIN.md, F01–F43) can be computed.

Each line is one draft:
    {"id", "kind", "occurred", "recorded_at", "recorded_by", "data"}

Python 3.11+ standard library only. The output is deterministic: every id is
uuid5(NAMESPACE, <per-event key>) and every recording time is derived from the key.

Run from anywhere:  python3 examples/make_school_2023h1.py
It prints the figures computed from the generated events, checks the sort order,
the uniqueness of ids, the two times (recorded ≥ occurred, recorded < 2023-07-20)
and validates every line against events/catalog/*.toml; it exits non-zero on any
failure.

People are invented. The county is never named (the seed report writes "XX").
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import pathlib
import sys
import tomllib
import uuid
from collections import Counter

HERE = pathlib.Path(__file__).resolve().parent
CATALOG_DIR = HERE.parent / "events" / "catalog"
OUT = HERE / "school-2023h1.jsonl"

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://annals.example/examples/school-2023h1")
TZ = dt.timezone(dt.timedelta(hours=8))
H1 = (dt.date(2023, 1, 1), dt.date(2023, 6, 30))
RECORDED_BEFORE = dt.datetime(2023, 7, 20, tzinfo=TZ)

OFFICE, TEACHING, RESEARCH = "办公室", "教务科", "科研科"

# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------
# Twelve full- and part-time teachers (专兼职教师).
#
# The "三个一" rule (each teacher leads at least one project, is a member of at
# least one project group, and authors at least one result) is met by ten of them
# and deliberately NOT by two, so that a per-teacher report has something to flag:
#   - 孙立新, a new teacher who joined in 2023: member of project groups and
#     co-author of a paper, but leads no project.
#   - 徐敏: leads a project and is a member of others, but has no result yet.
TEACHERS = [
    "王晓梅", "李建国", "张丽娟", "刘志强", "陈静", "杨帆",
    "赵文博", "黄秋月", "周子涵", "吴海涛", "徐敏", "孙立新",
]
NO_LEAD = "孙立新"
NO_RESULT = "徐敏"
# Staff who are not on the teaching roster.
PRINCIPAL = "何明远"      # 常务副校长、机关支部书记
OFFICE_HEAD = "郑红梅"    # 办公室主任、支部组织委员
RETIRED_SEC = "罗德华"    # 退休支部书记

# ---------------------------------------------------------------------------
# Working days and recording times
# ---------------------------------------------------------------------------
HOLIDAYS = {
    dt.date(2022, 1, 3),
    dt.date(2023, 1, 2),
    *(dt.date(2023, 1, d) for d in range(21, 28)),
    dt.date(2023, 4, 5),
    dt.date(2023, 4, 29), dt.date(2023, 4, 30),
    *(dt.date(2023, 5, d) for d in range(1, 4)),
    *(dt.date(2023, 6, d) for d in range(22, 25)),
}
MAKEUP_WORKDAYS = {
    dt.date(2022, 1, 29), dt.date(2022, 1, 30),
    dt.date(2023, 1, 28), dt.date(2023, 1, 29),
    dt.date(2023, 4, 23), dt.date(2023, 5, 6), dt.date(2023, 6, 25),
}


def workday(d: dt.date) -> bool:
    if d in MAKEUP_WORKDAYS:
        return True
    return d.weekday() < 5 and d not in HOLIDAYS


def key_hash(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16)


def office_time(d: dt.date, key: str) -> str:
    """A time in office hours (09:00–11:50 or 14:30–17:20) derived from the key."""
    h = key_hash(key)
    start = 9 * 60 if h % 2 == 0 else 14 * 60 + 30
    m = start + (h // 2) % 171
    t = dt.datetime(d.year, d.month, d.day, m // 60, m % 60, (h // 1000) % 60, tzinfo=TZ)
    return t.isoformat()


def recorded(end: dt.date, key: str, lag: int | None = None) -> str:
    """Recorded 1–5 days after the event (or `lag` days), on the next working day."""
    if lag is None:
        lag = 1 + key_hash("lag:" + key) % 5
    d = end + dt.timedelta(days=lag)
    while not workday(d):
        d += dt.timedelta(days=1)
    return office_time(d, key)


def D(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


# ---------------------------------------------------------------------------
# The events
# ---------------------------------------------------------------------------
EVENTS: list[dict] = []


def add(key: str, kind: str, occurred: str, data: dict, by: str,
        at: str | None = None, lag: int | None = None) -> str:
    """Adds one draft; `occurred` is "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"."""
    end = D(occurred.split("..")[-1])
    eid = str(uuid.uuid5(NAMESPACE, key))
    EVENTS.append({
        "id": eid,
        "kind": kind,
        "occurred": occurred,
        "recorded_at": at or recorded(end, key, lag),
        "recorded_by": by,
        "data": data,
    })
    return eid


# --- Targets (F20, F21) ----------------------------------------------------
for metric, value in (("main_classes", 15), ("main_sessions", 18)):
    add(f"target/2022/{metric}", "target_set", "2022-01-14",
        {"year": 2022, "metric": metric, "value": value,
         "basis": "县委组织部印发的2022年干部教育培训计划"},
        TEACHING, lag=3)
for metric, value in (("main_classes", 17), ("main_sessions", 21)):
    add(f"target/2023/{metric}", "target_set", "2023-02-10",
        {"year": 2023, "metric": metric, "value": value,
         "basis": "明禹书记签批的2023年干部人才集中培训方案"},
        TEACHING, lag=3)

# --- Field teaching sites, "3+3+5" (F26), backfilled in early January 2023 --
SITES = [
    # key, type, site, location, designated on
    ("lieshi", "party_spirit", "县革命烈士陵园", "城关镇", "2020-06-28"),
    ("hongjun", "party_spirit", "红军战斗遗址纪念馆", "永安镇", "2021-03-26"),
    ("lianzheng", "party_spirit", "县廉政文化教育基地", "城关镇", "2021-06-30"),
    ("liangquan", "rural_revitalisation", "凉泉村乡村振兴示范点", "青石镇", "2020-10-16"),
    ("nongye", "rural_revitalisation", "柏林镇现代农业产业园", "柏林镇", "2021-09-15"),
    ("tuoguan", "rural_revitalisation", "金桥镇“土地托管”服务中心", "金桥镇", "2022-04-20"),
    ("feiyi", "featured", "县非物质文化遗产展示馆", "城关镇", "2020-11-20"),
    ("cunluo", "featured", "花园镇传统村落", "花园镇", "2021-05-21"),
    ("keji", "featured", "县科技创新产业园", "县经济开发区", "2021-11-12"),
    ("zhili", "featured", "石河镇基层治理创新示范社区", "石河镇", "2022-06-17"),
    ("qingchuang", "featured", "双龙镇青年创业孵化基地", "双龙镇", "2022-09-23"),
]
SITE_NAME = {k: name for k, _, name, _, _ in SITES}
for i, (k, typ, name, town, on) in enumerate(SITES):
    add(f"site/{k}", "site_designated", on,
        {"type": typ, "site": name, "location": town},
        TEACHING, at=office_time(dt.date(2023, 1, 4 + i // 4), f"site/{k}"))

# --- Field-teaching micro-courses (F28): 4 built in 2022 (backfilled), 5 in 2023 H1
FIELD_COURSES = [
    ("2022-04-01", "弘扬英烈精神，传承红色基因", ["王晓梅", "陈静"]),
    ("2022-06-24", "追寻红色记忆，做“这样”的人", ["赵文博"]),
    ("2022-10-21", "“土地托管”里的乡村振兴密码", ["刘志强", "黄秋月"]),
    ("2022-11-25", "非遗里的匠心传承", ["张丽娟"]),
    ("2023-03-17", "做敢为青年", ["杨帆", "周子涵"]),
    ("2023-04-21", "从凉泉村看乡村振兴新图景", ["刘志强"]),
    ("2023-05-12", "廉洁文化润初心", ["陈静", "孙立新"]),
    ("2023-05-26", "科技创新赋能县域发展", ["吴海涛"]),
    ("2023-06-16", "传统村落里的乡愁与振兴", ["张丽娟", "黄秋月"]),
]
for i, (on, title, authors) in enumerate(FIELD_COURSES):
    key = f"course/field_micro/{i + 1}"
    at = office_time(dt.date(2023, 1, 6), key) if on < "2023" else None
    add(key, "course_developed", on,
        {"type": "field_micro", "title": title, "authors": authors}, TEACHING, at=at)

# --- Party building: meetings (F01–F06, F10, F42 lesson preparation) -------
MEETINGS = {
    "school_committee": [
        ("2023-01-10", "研究2023年工作要点及党建工作要点", 7),
        ("2023-02-07", "研究2023年主体班办班计划", 7),
        ("2023-03-07", "研究“一师双岗”蹲点锻炼人选", 7),
        ("2023-04-04", "研究课题申报及现场教学点管理工作", 7),
        ("2023-04-25", "研究二季度教学科研工作", 6),
        ("2023-05-16", "研究学习贯彻习近平新时代中国特色社会主义思想主题教育工作", 7),
        ("2023-06-06", "研究“七一”系列活动及表扬推荐人选", 7),
        ("2023-06-27", "研究上半年工作总结及下半年工作打算", 7),
    ],
    "theory_study": [
        ("2023-02-21", "深入学习贯彻党的二十大精神", 9),
        ("2023-05-30", "学习习近平新时代中国特色社会主义思想主题教育专题学习", 9),
    ],
    "branch_general": [
        ("2023-03-14", "机关支部换届选举党员大会", 21),
        ("2023-06-26", "庆“七一”暨表扬优秀共产党员和优秀党务工作者", 22),
    ],
    "organisational_life": [
        ("2023-02-14", "2022年度组织生活会", 21),
    ],
    "branch_committee": [
        ("2023-01-09", "研究2023年党建工作要点", 5),
        ("2023-02-06", "研究2023年党支部主题党日活动计划", 5),
        ("2023-03-06", "研究支部换届选举工作", 5),
        ("2023-03-27", "研究发展党员及党费收缴工作", 5),
        ("2023-04-24", "研究党风廉政建设工作", 5),
        ("2023-05-22", "研究主题教育学习安排", 5),
        ("2023-06-19", "研究“七一”表扬推荐人选", 5),
    ],
    "themed_party_day": [
        ("2023-01-13", "新春走访慰问老党员", 20),
        ("2023-02-24", "重温入党誓词", 21),
        ("2023-03-03", "学雷锋志愿服务", 19),
        ("2023-04-04", "清明祭英烈", 22),
        ("2023-05-26", "参观县廉政文化教育基地", 20),
        ("2023-06-21", "“七一”前夕重温党史", 21),
    ],
    "film_screening": [
        ("2023-03-24", "观看红色电影《长津湖》", 21),
        ("2023-06-16", "观看红色电影《革命者》", 20),
    ],
    "lesson_preparation": [
        ("2023-04-12", "集体备课：党的二十大精神专题课", 4, "思想理论教研组"),
        ("2023-05-17", "集体备课：红色资源现场教学微课", 4, "党史党建教研组"),
        ("2023-06-14", "集体备课：县域经济高质量发展专题课", 3, "政治经济教研组"),
    ],
}
for typ, rows in MEETINGS.items():
    for row in rows:
        on, title, attendees = row[:3]
        branch = row[3] if len(row) > 3 else "机关支部"
        data = {"type": typ, "title": title, "attendees": attendees}
        if typ not in ("school_committee",):
            data["branch"] = branch
        by = TEACHING if typ == "lesson_preparation" else OFFICE
        add(f"meeting/{typ}/{on}", "meeting_held", on, data, by)

# Corrections demo: the 25 April school committee meeting was entered twice; the
# duplicate is voided after the May Day holiday, so F01 stays 8.
_orig = next(e for e in EVENTS if e["id"] == str(uuid.uuid5(NAMESPACE, "meeting/school_committee/2023-04-25")))
dup_id = add("meeting/school_committee/2023-04-25/duplicate", "meeting_held", "2023-04-25",
             dict(_orig["data"]), OFFICE,
             at=(dt.datetime.fromisoformat(_orig["recorded_at"]) + dt.timedelta(minutes=47)).isoformat())
add("void/meeting/school_committee/2023-04-25/duplicate", "event_voided", "2023-05-04",
    {"target": dup_id, "reason": "重复录入"}, OFFICE, at="2023-05-04T10:15:00+08:00")

# --- Elections (F08) ---------------------------------------------------------
add("election/机关支部", "election_completed", "2023-03-14", {"branch": "机关支部"}, OFFICE)
add("election/退休支部", "election_completed", "2023-03-21", {"branch": "退休支部"}, OFFICE)

# --- Commendations before 七一 (F09): one event per person ------------------
for honour, who in (("party_affairs_worker", OFFICE_HEAD), ("party_affairs_worker", RETIRED_SEC),
                    ("party_member", "王晓梅"), ("party_member", "赵文博"), ("party_member", "陈静")):
    add(f"commendation/{honour}/{who}", "commendation_given", "2023-06-26",
        {"honour": honour, "recipient": who}, OFFICE)

# --- Outreach (F11–F13) ------------------------------------------------------
OUTREACH = [
    ("community", "2023-03-10", "城南街道东街社区", "“绿色家园齐建设”“双报到”活动", None),
    ("community", "2023-05-12", "城南街道东街社区", "“垃圾分类”宣传“双报到”活动", None),
    ("village", "2023-02-17", "凉泉村", "春耕备耕走访", None),
    ("village", "2023-04-14", "凉泉村", "配合开展环境卫生整治", None),
    ("village", "2023-05-19", "凉泉村", "文明城市创建宣传", None),
    ("village", "2023-06-02", "凉泉村", "党的二十大精神进村宣讲", None),
    ("hardship_visit", "2023-06-29", "凉泉村", "庆“七一”慰问困难党员", 5),
]
for typ, on, place, title, n in OUTREACH:
    data = {"type": typ, "place": place, "title": title}
    if n is not None:
        data["people_visited"] = n
    add(f"outreach/{typ}/{on}", "outreach_done", on, data, OFFICE)

# --- Lectures (F07, F42) -----------------------------------------------------
LECTURES = [
    ("party", "2023-03-29", PRINCIPAL, "深入学习贯彻党的二十大精神 奋力推进党校事业高质量发展", "机关支部"),
    ("party", "2023-06-28", "王晓梅", "传承红色基因 践行初心使命", "机关支部"),
    ("monthly", "2023-03-15", "李建国", "中国式现代化的科学内涵与实践要求", "本校"),
    ("monthly", "2023-04-19", "张丽娟", "县域乡村振兴的路径选择", "本校"),
    ("monthly", "2023-05-24", "赵文博", "新时代党的建设总要求解读", "本校"),
    ("monthly", "2023-06-07", "陈静", "全面从严治党永远在路上", "本校"),
    ("micro_trial", "2023-05-10", "周子涵", "做敢为青年（微课试讲）", "本校"),
    ("contest", "2023-06-09", "杨帆", "“一线创优”微课竞赛", "本校"),
    ("forum", "2023-05-19", "刘志强", "市委党校教学论坛：现场教学微课的开发与讲授", "市委党校"),
]
for typ, on, speaker, title, venue in LECTURES:
    add(f"lecture/{typ}/{on}", "lecture_given", on,
        {"type": typ, "speaker": speaker, "title": title, "venue": venue}, TEACHING)

# --- Teaching research groups (F41) -----------------------------------------
GROUPS = {
    "思想理论教研组": ["李建国", "王晓梅", "孙立新"],
    "党史党建教研组": ["赵文博", "陈静", "周子涵"],
    "政治经济教研组": ["刘志强", "吴海涛", "杨帆"],
    "公共管理教研组": ["张丽娟", "黄秋月", "徐敏"],
}
for name, members in GROUPS.items():
    add(f"group/{name}", "group_formed", "2023-02-15", {"name": name, "members": members}, TEACHING)

# --- "一师双岗" placements (F40) ----------------------------------------------
PLACEMENTS = [
    ("杨帆", "县发展和改革局"),
    ("吴海涛", "县经济和信息化局"),
    ("周子涵", "县财政局"),
    ("黄秋月", "县农业农村局"),
    ("孙立新", "县文化广播电视和旅游局"),
]
for who, dept in PLACEMENTS:
    add(f"placement/{who}", "placement_started", "2023-03-01",
        {"teacher": who, "department": dept, "months": 6}, OFFICE, lag=1)

# --- Training classes (F22, F23, F25) ---------------------------------------
MAIN_CLASSES = [
    # class_id, name, session, occurred, trainees, methods, teachers
    ("2023-ZT05", "学习贯彻党的二十大精神专题培训班（县管干部）", 1, "2023-02-20..2023-02-24", 124,
     ["讲授式", "研讨式", "现场教学"], ["李建国", "王晓梅", "赵文博", "陈静"]),
    ("2023-ZT01", "2023年中青年干部培训班（中青班）", 1, "2023-03-06..2023-03-31", 52,
     ["讲授式", "案例式", "互动式", "户外拓展训练", "现场教学"],
     ["王晓梅", "李建国", "张丽娟", "刘志强", "杨帆", "周子涵"]),
    ("2023-ZT02", "村（社区）党组织书记培训班", 1, "2023-03-20..2023-03-24", 108,
     ["讲授式", "案例式", "现场教学"], ["刘志强", "张丽娟", "黄秋月"]),
    ("2023-ZT03", "重大决策部署（企业人才管理专业化）专题研讨班", 1, "2023-04-10..2023-04-13", 96,
     ["讲授式", "案例式", "沉浸式"], ["吴海涛", "刘志强", "徐敏"]),
    ("2023-ZT04", "新任科级领导干部培训班", 1, "2023-04-17..2023-04-21", 58,
     ["讲授式", "案例式", "互动式"], ["赵文博", "陈静", "张丽娟", "李建国"]),
    ("2023-ZT02", "村（社区）党组织书记培训班", 2, "2023-05-08..2023-05-12", 104,
     ["讲授式", "案例式", "现场教学"], ["刘志强", "黄秋月", "孙立新"]),
    ("2023-ZT06", "发展对象培训班", 1, "2023-05-22..2023-05-26", 71,
     ["讲授式", "互动式"], ["赵文博", "陈静", "周子涵"]),
    ("2023-ZT07", "乡镇（街道）干部能力提升培训班", 1, "2023-06-05..2023-06-09", 83,
     ["讲授式", "案例式", "现场教学"], ["张丽娟", "黄秋月", "徐敏", "吴海涛"]),
    ("2023-ZT08", "机关党务干部培训班", 1, "2023-06-12..2023-06-16", 94,
     ["讲授式", "沉浸式", "互动式"], ["陈静", "赵文博", "王晓梅"]),
    ("2023-ZT09", "基层干部履职能力提升培训班", 1, "2023-06-19..2023-06-21", 63,
     ["讲授式", "互动式"], ["杨帆", "徐敏", "李建国"]),
]
for cid, name, session, occ, n, methods, teachers in MAIN_CLASSES:
    add(f"class/{cid}/{session}", "class_held", occ,
        {"class_id": cid, "class_name": name, "category": "main", "session": session,
         "trainees": n, "organiser": "县委组织部", "methods": methods, "teachers": teachers},
        TEACHING)
# The boundary case: ends 2 July, recorded 3 July; it must not count in H1.
add("class/2023-ZT10/1", "class_held", "2023-06-29..2023-07-02",
    {"class_id": "2023-ZT10", "class_name": "乡村振兴专题培训班", "category": "main",
     "session": 1, "trainees": 78, "organiser": "县委组织部",
     "methods": ["讲授式", "案例式", "现场教学"], "teachers": ["刘志强", "黄秋月", "张丽娟"]},
    TEACHING, at="2023-07-03T10:20:00+08:00")

CO_CLASSES = [
    ("2023-XB01", "全面深化改革专题研修班", "2023-04-24..2023-04-26", 46, "县委办",
     ["讲授式", "研讨式"], ["李建国", "吴海涛"]),
    ("2023-XB02", "全国村党组织书记视频培训班XX分课堂", "2023-05-29..2023-05-31", 186, "县委组织部",
     ["视频教学", "讲授式"], ["刘志强"]),
]
for cid, name, occ, n, org, methods, teachers in CO_CLASSES:
    add(f"class/{cid}/1", "class_held", occ,
        {"class_id": cid, "class_name": name, "category": "co_organised", "session": 1,
         "trainees": n, "organiser": org, "methods": methods, "teachers": teachers},
        TEACHING)

# --- Outside classes hosted for field teaching (F27) ------------------------
add("visit/省委党校中青班", "visit_hosted", "2023-04-26..2023-04-27",
    {"class_name": "省委党校中青年干部培训班", "from": "省委党校", "trainees": 45,
     "sites": [SITE_NAME["lieshi"], SITE_NAME["liangquan"], SITE_NAME["keji"]]}, TEACHING)
add("visit/梓潼县委党校", "visit_hosted", "2023-05-30..2023-05-31",
    {"class_name": "科级干部进修班", "from": "梓潼县委党校", "trainees": 52,
     "sites": [SITE_NAME["hongjun"], SITE_NAME["tuoguan"], SITE_NAME["cunluo"]]}, TEACHING)

# --- Courses developed (F43) -------------------------------------------------
MICRO_PARTY = [
    ("2023-02-22", "二十大报告里的“民生温度”", ["王晓梅"]),
    ("2023-03-08", "从“枫桥经验”看基层治理", ["张丽娟"]),
    ("2023-03-29", "峥嵘百年 未来有我", ["赵文博", "周子涵"]),
    ("2023-04-19", "红军渡口的故事", ["陈静"]),
    ("2023-05-10", "一名村支书的三十年", ["刘志强", "孙立新"]),
    ("2023-05-31", "廉洁家风代代传", ["陈静", "徐敏"]),
    ("2023-06-14", "青春向党 敢为人先", ["杨帆"]),
]
THEMATIC = [
    ("2023-02-15", "深入学习贯彻党的二十大精神", ["李建国"]),
    ("2023-03-01", "中国式现代化的县域实践", ["李建国", "吴海涛"]),
    ("2023-03-22", "乐享“心”生活，幸福人生路", ["黄秋月"]),
    ("2023-04-12", "新时代基层党组织建设的着力点", ["赵文博"]),
    ("2023-04-26", "县域营商环境优化的路径与方法", ["吴海涛", "徐敏"]),
    ("2023-05-17", "乡村振兴战略与县域实践", ["刘志强"]),
    ("2023-05-24", "企业人才管理专业化的思路与举措", ["张丽娟", "杨帆"]),
    ("2023-06-07", "全面从严治党的新要求", ["陈静"]),
    ("2023-06-14", "县域经济高质量发展", ["吴海涛"]),
]
for typ, rows in (("micro_party", MICRO_PARTY), ("thematic", THEMATIC)):
    for i, (on, title, authors) in enumerate(rows):
        add(f"course/{typ}/{i + 1}", "course_developed", on,
            {"type": typ, "title": title, "authors": authors}, TEACHING)

# --- Research projects (F30, F31, F33) --------------------------------------
PROJECT_BATCHES = [
    # funder, id prefix, applied on, approved on, {index: key?} approved, titles
    ("county_social_science", "XSK", "2023-02-28", "2023-04-14", {i: False for i in range(11)}, [
        "我县红色文化资源保护利用研究",
        "我县特色农业产业链延链补链研究",
        "以县城为重要载体的新型城镇化建设路径研究",
        "我县乡村旅游发展现状与对策研究",
        "我县基层干部学习贯彻党的二十大精神情况调研",
        "我县农村宅基地制度改革实践研究",
        "我县非遗传承与文创产业融合发展研究",
        "我县城乡社区网格化治理实践研究",
        "我县青年人才回引机制研究",
        "我县农村电商发展对策研究",
        "我县劳务品牌培育研究",
    ]),
    ("provincial_school", "SD", "2023-03-15", "2023-05-26", {0: False, 3: False, 6: False}, [
        "党的二十大精神融入县级党校主体班教学路径研究",
        "县域农村集体经济发展壮大机制研究",
        "基层党组织领导乡村治理的实践路径研究",
        "新时代县级党校现场教学体系构建研究",
        "县域营商环境优化的制约因素与对策研究",
        "年轻干部“敢为”精神培育机制研究",
        "红色资源融入干部党性教育的实践研究",
        "“一线创优”视域下基层干部担当作为激励机制研究",
        "数字乡村建设赋能县域治理现代化研究",
        "县级融媒体中心意识形态工作实践研究",
        "农村基层党组织书记队伍建设研究",
        "县域产业园区高质量发展路径研究",
        "新时代“枫桥经验”的县域实践创新研究",
        "县级党校“三个一”科研机制成效研究",
    ]),
    ("city_organs", "SJG", "2023-03-20", "2023-04-25", {0: False}, [
        "机关党建与业务工作深度融合的路径探析",
    ]),
    ("city_cppcc", "SZX", "2023-03-24", None, {}, [
        "政协协商助推县域乡村振兴的实践研究",
    ]),
    ("city_social_science", "SSK", "2023-04-07", "2023-06-09",
     {1: False, 4: True, 5: False, 8: False, 10: False, 13: False}, [
        "丘陵地区粮食安全与耕地保护协同机制研究",
        "县域城乡融合发展的实践路径研究",
        "农村留守老人互助养老模式研究",
        "乡村人才振兴中“新农人”培育研究",
        "县域民营企业人才管理专业化研究",
        "传统村落保护与乡村旅游融合发展研究",
        "基层“微治理”中的群众参与机制研究",
        "农村人居环境整治长效机制研究",
        "县域文旅融合发展路径研究",
        "城乡社区“双报到”工作实效研究",
        "乡村振兴背景下村级集体经济组织运行研究",
        "县域优秀传统文化创造性转化研究",
        "基层减负背景下干部作风建设研究",
        "农产品区域公用品牌建设研究",
    ]),
    ("provincial_think_tank", "ZK", "2023-05-15", None, {}, [
        "县域乡村振兴智库基地建设研究",
        "丘陵地区撂荒地整治利用的对策建议",
        "县域经济“强县工程”实施路径研究",
    ]),
    ("city_policy_office", "ZYS", "2023-06-05", None, {}, [
        "县域经济高质量发展对策研究",
        "推动农业转移人口市民化的对策建议",
        "基层治理体系和治理能力现代化路径研究",
        "以“一线创优”推动干部作风转变的对策研究",
    ]),
]
LEADS = [t for t in TEACHERS if t != NO_LEAD]
PROJECTS: dict[str, dict] = {}
n_project = 0
for funder, prefix, applied_on, approved_on, approved, titles in PROJECT_BATCHES:
    for i, title in enumerate(titles):
        pid = f"2023-{prefix}-{i + 1:02d}"
        lead = LEADS[n_project % len(LEADS)]
        others = [t for t in TEACHERS if t != lead]
        start = (n_project * 7) % len(others)
        size = 1 + n_project % 3
        members = [others[(start + k) % len(others)] for k in range(size)]
        n_project += 1
        data = {"project_id": pid, "title": title, "funder": funder, "lead": lead, "members": members}
        PROJECTS[pid] = data
        add(f"project/applied/{pid}", "project_applied", applied_on, dict(data), RESEARCH)
        if i in approved:
            add(f"project/approved/{pid}", "project_approved", approved_on,
                {"project_id": pid, "title": title, "funder": funder, "key": approved[i],
                 "lead": lead, "members": members}, RESEARCH)

# --- Results (F32, F34, F35, F36) -------------------------------------------
PAPER_VENUE_PROV, PAPER_VENUE_CITY = "省级理论研讨会", "市委党校征文"
RESULTS = [
    # key, type, on, title, venue, outcome, authors, project_id
    ("paper-01", "paper", "2023-04-26", "以党的二十大精神引领县域乡村全面振兴的实践与思考",
     PAPER_VENUE_PROV, "submitted", ["刘志强", "黄秋月"], "2023-SD-02"),
    ("paper-02", "paper", "2023-04-26", "县级党校服务县域中心工作的路径探析",
     PAPER_VENUE_PROV, "submitted", ["王晓梅"], None),
    ("paper-03", "paper", "2023-04-27", "红色资源赋能干部党性教育的县域探索",
     PAPER_VENUE_PROV, "submitted", ["赵文博", "孙立新"], "2023-SD-07"),
    ("paper-04", "paper", "2023-04-27", "中国式现代化进程中的县域治理现代化",
     PAPER_VENUE_PROV, "submitted", ["李建国"], None),
    ("paper-05", "paper", "2023-04-28", "数字乡村建设的现实困境与突破路径",
     PAPER_VENUE_PROV, "submitted", ["吴海涛"], None),
    ("paper-06", "paper", "2023-04-28", "新时代基层党组织组织力提升路径研究",
     PAPER_VENUE_PROV, "submitted", ["陈静"], None),
    ("paper-07", "paper", "2023-05-29", "以“一线创优”激发干部担当作为",
     PAPER_VENUE_CITY, "submitted", ["杨帆"], None),
    ("paper-08", "paper", "2023-05-29", "县域民营企业人才管理的困境与对策",
     PAPER_VENUE_CITY, "submitted", ["张丽娟"], "2023-SSK-05"),
    ("paper-09", "paper", "2023-05-30", "年轻干部“敢为”精神的培育路径",
     PAPER_VENUE_CITY, "submitted", ["周子涵"], None),
    ("paper-10", "paper", "2023-05-31", "传统村落活化利用的实践与启示",
     PAPER_VENUE_CITY, "submitted", ["黄秋月"], None),
    ("paper-11", "paper", "2023-05-31", "机关党建与业务融合的实践探索",
     PAPER_VENUE_CITY, "submitted", ["陈静", "王晓梅"], "2023-SJG-01"),
    ("case-01", "case", "2023-05-18", "“党建+合作社”带动村集体经济增收的凉泉村实践",
     "市委党校", "submitted", ["刘志强"], None),
    ("case-02", "case", "2023-05-18", "“土地托管”破解“谁来种地”难题的金桥镇探索",
     "市委党校", "submitted", ["黄秋月"], None),
    ("case-03", "case", "2023-05-18", "“积分制”推动乡村治理精细化的实践",
     "市委党校", "submitted", ["张丽娟"], None),
    ("case-04", "case", "2023-06-08", "传统村落活化利用助推农文旅融合发展",
     "市委党校", "submitted", ["杨帆"], None),
    ("case-05", "case", "2023-06-08", "现代农业园区带动小农户共同富裕的柏林镇样本",
     "市委党校", "submitted", ["吴海涛"], None),
    ("report-01", "advisory_report", "2023-04-27", "关于加快盘活农村闲置资源的建议",
     "县委办公室", "endorsed", ["刘志强", "吴海涛"], None),
    ("report-02", "advisory_report", "2023-06-13", "关于进一步优化县域营商环境的对策建议",
     "县委办公室", "submitted", ["李建国"], None),
    ("article-01", "article", "2023-01-18", "县级党校现场教学的实践探索", "四川党的建设", "published", ["王晓梅"], None),
    ("article-02", "article", "2023-02-16", "让红色资源成为党性教育的生动教材", "先锋", "published", ["赵文博"], None),
    ("article-03", "article", "2023-03-15", "发展壮大村级集体经济的几点思考", "当代县域经济", "published", ["刘志强"], None),
    ("article-04", "article", "2023-03-27", "以高质量党建引领基层治理", "四川党的建设", "published", ["陈静"], None),
    ("article-05", "article", "2023-04-17", "县域营商环境优化的着力点", "当代县域经济", "published", ["吴海涛"], None),
    ("article-06", "article", "2023-05-08", "新时代青年干部如何做到敢为", "先锋", "published", ["周子涵", "杨帆"], None),
    ("article-07", "article", "2023-05-15", "传统村落保护利用的县域实践", "农村经济", "published", ["张丽娟"], None),
    ("article-08", "article", "2023-06-01", "推进中国式现代化的县域担当", "四川党的建设", "published", ["李建国"], None),
    ("article-09", "article", "2023-06-15", "乡村人才振兴的破题之举", "农村经济", "published", ["黄秋月"], None),
    ("article-10", "article", "2023-06-19", "推动党建与业务深度融合", "先锋", "published", ["王晓梅", "陈静"], None),
]
RESULT_IDS: dict[str, str] = {}
for key, typ, on, title, venue, outcome, authors, pid in RESULTS:
    data = {"type": typ, "title": title, "venue": venue, "outcome": outcome, "authors": authors}
    if pid:
        data["project_id"] = pid
    RESULT_IDS[key] = add(f"result/{key}", "result_submitted", on, data, RESEARCH)

# paper-01 was selected for the provincial seminar: an amendment replaces its data.
_paper = next(e for e in EVENTS if e["id"] == RESULT_IDS["paper-01"])
add("amend/result/paper-01", "event_amended", "2023-06-19",
    {"target": _paper["id"], "data": {**_paper["data"], "outcome": "selected"},
     "reason": "入选省级理论研讨会"},
    RESEARCH, at="2023-06-20T09:40:00+08:00")

# --- Plans for the second half ------------------------------------------------
PLANS = [
    ("training", "购置移动PPT播放器、话筒、音响、移动桌椅等现场教学移动设备，打破现场教学在时间和空间上的限制"),
    ("training", "到鲁班镇调研梓匠丰碑展览馆，充实现场教学点位"),
    ("training", "到塔山镇调研张天汉烈士纪念园，充实现场教学点位"),
    ("teachers", "组织教师到现场教学点实地调研学习，确保现场教学内容准确"),
    ("training", "通过教师选择、集体备课、新课试讲三个环节集体打磨精品课程"),
    ("training", "结合县域实情和现场教学点，开发一批精品特色课程"),
    ("teachers", "加强专兼职教师队伍建设，发挥各教研组作用，常态化开展“每月一讲”、集体备课、集体研学"),
    ("training", "探索案例式、模拟式、体验式等互动式教学组织形式"),
]
for i, (area, title) in enumerate(PLANS):
    add(f"plan/2023h2/{i + 1}", "plan_made", "2023-07-05",
        {"title": title, "due": "2023-12-31", "area": area}, OFFICE, lag=1)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------
def load_catalog() -> dict[str, dict]:
    kinds = {}
    for path in sorted(CATALOG_DIR.glob("*.toml")):
        with path.open("rb") as f:
            k = tomllib.load(f)
        kinds[k["name"]] = k
    return kinds


def validate(ev: dict, catalog: dict[str, dict]) -> list[str]:
    """The same checks as the Rust catalog, for drafts written by this script."""
    errs = []
    if list(ev) != ["id", "kind", "occurred", "recorded_at", "recorded_by", "data"]:
        errs.append(f"keys {list(ev)}")
    kind = catalog.get(ev["kind"])
    if kind is None:
        return errs + [f"unknown kind {ev['kind']}"]
    if kind.get("system"):
        errs.append("system kind")
    parts = ev["occurred"].split("..")
    try:
        days = [D(p) for p in parts]
        if len(days) > 2 or days[-1] < days[0]:
            errs.append("occurred: bad range")
        if kind["occurs"] == "date" and len(days) != 1:
            errs.append("occurred: a one-day kind given a range")
    except ValueError:
        errs.append(f"occurred: {ev['occurred']!r}")
    if len(ev["recorded_by"]) > 64 or not ev["recorded_by"].strip():
        errs.append("recorded_by")
    fields = {f["name"]: f for f in kind.get("field", [])}
    data = ev["data"]

    def text_ok(v, f, where):
        if not isinstance(v, str) or not v.strip():
            errs.append(f"{where}: must be non-empty text")
        elif len(v) > f.get("max_len", 200):
            errs.append(f"{where}: {len(v)} chars > {f.get('max_len', 200)}")
        elif any(ord(c) < 32 and c not in "\n\t" for c in v):
            errs.append(f"{where}: control characters")

    for k in data:
        if k not in fields:
            errs.append(f"data.{k}: not a field of {ev['kind']}")
    for name, f in fields.items():
        where = f"data.{name}"
        if data.get(name) is None:
            if f.get("required"):
                errs.append(f"{where}: required")
            continue
        v, t = data[name], f["type"]
        if t in ("text", "person"):
            text_ok(v, f, where)
        elif t == "integer":
            if not isinstance(v, int) or isinstance(v, bool):
                errs.append(f"{where}: not an integer")
            elif not f.get("min", 0) <= v <= f.get("max", 1_000_000_000):
                errs.append(f"{where}: {v} outside {f.get('min', 0)}..{f.get('max')}")
        elif t == "boolean":
            if not isinstance(v, bool):
                errs.append(f"{where}: not a boolean")
        elif t == "date":
            try:
                D(v)
            except (TypeError, ValueError):
                errs.append(f"{where}: not a date")
        elif t == "enum":
            if v not in [e["value"] for e in f["values"]]:
                errs.append(f"{where}: {v!r} not an allowed value")
        elif t in ("list", "people"):
            if not isinstance(v, list) or len(v) > 200:
                errs.append(f"{where}: not a list of ≤200 items")
            else:
                for i, item in enumerate(v):
                    text_ok(item, f, f"{where}[{i}]")
        elif t == "uuid":
            try:
                uuid.UUID(v)
            except (TypeError, ValueError, AttributeError):
                errs.append(f"{where}: not a UUID")
        elif t == "object":
            if not isinstance(v, dict):
                errs.append(f"{where}: not an object")
        else:
            errs.append(f"{where}: unknown field type {t}")
    return errs


def main() -> int:
    EVENTS.sort(key=lambda e: dt.datetime.fromisoformat(e["recorded_at"]))  # stable
    with OUT.open("w", encoding="utf-8", newline="\n") as f:
        for ev in EVENTS:
            f.write(json.dumps(ev, ensure_ascii=False, separators=(",", ":")) + "\n")

    catalog = load_catalog()
    problems: list[str] = []
    by_id = {e["id"]: e for e in EVENTS}
    if len(by_id) != len(EVENTS):
        problems.append("ids are not unique")
    times = [dt.datetime.fromisoformat(e["recorded_at"]) for e in EVENTS]
    if any(b < a for a, b in zip(times, times[1:])):
        problems.append("lines are not sorted by recorded_at")
    for ev, t in zip(EVENTS, times):
        where = f"{ev['kind']} {ev['occurred']} {ev['id'][:8]}"
        for err in validate(ev, catalog):
            problems.append(f"{where}: {err}")
        if t.utcoffset() != dt.timedelta(hours=8):
            problems.append(f"{where}: recorded_at not in +08:00")
        if t.date() < D(ev["occurred"].split("..")[-1]):
            problems.append(f"{where}: recorded before it occurred")
        if t >= RECORDED_BEFORE:
            problems.append(f"{where}: recorded on or after 2023-07-20")
        if not workday(t.date()):
            problems.append(f"{where}: recorded on a non-working day {t.date()}")
        if ev["kind"] in catalog and catalog[ev["kind"]]["occurs"] == "date" and not workday(D(ev["occurred"])):
            if ev["kind"] not in ("site_designated", "course_developed"):
                problems.append(f"{where}: occurred on a non-working day")
        if ev["kind"] in ("event_amended", "event_voided"):
            target = by_id.get(ev["data"]["target"])
            if target is None:
                problems.append(f"{where}: target not in the file")
            elif dt.datetime.fromisoformat(target["recorded_at"]) >= t:
                problems.append(f"{where}: recorded before its target")
            if ev["kind"] == "event_amended" and target is not None:
                for err in validate({**target, "data": ev["data"]["data"]}, catalog):
                    problems.append(f"{where}: replacement data: {err}")

    # Apply corrections, as the projections do, then count.
    voided = {e["data"]["target"] for e in EVENTS if e["kind"] == "event_voided"}
    amended = {e["data"]["target"]: e["data"]["data"] for e in EVENTS if e["kind"] == "event_amended"}
    live = [{**e, "data": amended.get(e["id"], e["data"])} for e in EVENTS
            if e["id"] not in voided and e["kind"] not in ("event_amended", "event_voided")]

    def end(e):
        return D(e["occurred"].split("..")[-1])

    def h1(kind, **match):
        return [e for e in live if e["kind"] == kind and H1[0] <= end(e) <= H1[1]
                and all(e["data"].get(k) == v for k, v in match.items())]

    def cumulative(kind, **match):
        return [e for e in live if e["kind"] == kind and end(e) <= H1[1]
                and all(e["data"].get(k) == v for k, v in match.items())]

    def target(year, metric):
        ts = [e for e in live if e["kind"] == "target_set" and end(e) <= H1[1]
              and e["data"]["year"] == year and e["data"]["metric"] == metric]
        return ts[-1]["data"]["value"] if ts else None

    n = lambda xs: len(xs)  # noqa: E731
    main_h1 = h1("class_held", category="main")
    trainees = sum(e["data"]["trainees"] for e in main_h1)
    applied = Counter(e["data"]["funder"] for e in h1("project_applied"))
    approved = Counter(e["data"]["funder"] for e in h1("project_approved"))
    key_ssk = sum(1 for e in h1("project_approved", funder="city_social_science") if e["data"].get("key"))
    papers = h1("result_submitted", type="paper")
    expected = {
        "F01 school committee": (n(h1("meeting_held", type="school_committee")), 8),
        "F02 theory study": (n(h1("meeting_held", type="theory_study")), 2),
        "F03 branch general": (n(h1("meeting_held", type="branch_general")), 2),
        "F04 organisational life": (n(h1("meeting_held", type="organisational_life")), 1),
        "F05 branch committee": (n(h1("meeting_held", type="branch_committee")), 7),
        "F06 themed Party day": (n(h1("meeting_held", type="themed_party_day")), 6),
        "F07 Party lectures": (n(h1("lecture_given", type="party")), 2),
        "F08 elections": (sorted(e["data"]["branch"] for e in h1("election_completed")), ["机关支部", "退休支部"]),
        "F09 Party affairs workers": (n(h1("commendation_given", honour="party_affairs_worker")), 2),
        "F09 Party members": (n(h1("commendation_given", honour="party_member")), 3),
        "F10 film screenings": (n(h1("meeting_held", type="film_screening")), 2),
        "F11 community visits": (n(h1("outreach_done", type="community")), 2),
        "F12 village visits": (n(h1("outreach_done", type="village")), 4),
        "F13 members in difficulty visited": (sum(e["data"].get("people_visited", 0) for e in h1("outreach_done", type="hardship_visit")), 5),
        "F20 2023 plan classes/sessions": ((target(2023, "main_classes"), target(2023, "main_sessions")), (17, 21)),
        "F21 2022 plan classes/sessions": ((target(2022, "main_classes"), target(2022, "main_sessions")), (15, 18)),
        "F22 main classes done (distinct class_id)": (len({e["data"]["class_id"] for e in main_h1}), 9),
        "F22 main sessions done": (n(main_h1), 10),
        "F25 co-organised classes": (n(h1("class_held", category="co_organised")), 2),
        "F26 sites party_spirit/rural/featured": (tuple(n(cumulative("site_designated", type=t)) for t in ("party_spirit", "rural_revitalisation", "featured")), (3, 3, 5)),
        "F27 visits hosted": (n(h1("visit_hosted")), 2),
        "F28 field micro-courses (cumulative)": (n(cumulative("course_developed", type="field_micro")), 9),
        "F30 applied prov/city_ss/cppcc/organs/county": (tuple(applied[f] for f in ("provincial_school", "city_social_science", "city_cppcc", "city_organs", "county_social_science")), (14, 14, 1, 1, 11)),
        "F31 approved prov/city_ss/county/organs": (tuple(approved[f] for f in ("provincial_school", "city_social_science", "county_social_science", "city_organs")), (3, 6, 11, 1)),
        "F31 approved total": (sum(approved.values()), 21),
        "F31 city_ss key": (key_ssk, 1),
        "F32 cases to the city school": (n(h1("result_submitted", type="case", venue="市委党校")), 5),
        "F33 think-tank / policy office applied": ((applied["provincial_think_tank"], applied["city_policy_office"]), (3, 4)),
        "F34 advisory reports endorsed": (n(h1("result_submitted", type="advisory_report", outcome="endorsed")), 1),
        "F34 advisory reports (all)": (n(h1("result_submitted", type="advisory_report")), 2),
        "F35 papers sent / selected": ((n(papers), sum(1 for e in papers if e["data"]["outcome"] == "selected")), (11, 1)),
        "F36 articles published": (n(h1("result_submitted", type="article", outcome="published")), 10),
        "F40 placements teachers/departments": ((len({e["data"]["teacher"] for e in h1("placement_started")}), len({e["data"]["department"] for e in h1("placement_started")})), (5, 5)),
        "F41 teaching research groups": (n(h1("group_formed")), 4),
        "F42 monthly lectures": (n(h1("lecture_given", type="monthly")), 4),
        "F42 lesson preparation": (n(h1("meeting_held", type="lesson_preparation")), 3),
        "F42 micro-course trials": (n(h1("lecture_given", type="micro_trial")), 1),
        "F42 micro-course contests": (n(h1("lecture_given", type="contest")), 1),
        "F42 city school forum": (n(h1("lecture_given", type="forum")), 1),
        "F43 micro Party courses / thematic": ((n(h1("course_developed", type="micro_party")), n(h1("course_developed", type="thematic"))), (7, 9)),
    }
    print(f"wrote {OUT} ({len(EVENTS)} lines)")
    print("figures, state on 2023-06-30 (corrections applied):")
    for name, (got, want) in expected.items():
        ok = got == want
        print(f"  {'ok ' if ok else 'BAD'} {name}: {got}" + ("" if ok else f" (want {want})"))
        if not ok:
            problems.append(f"{name}: {got} != {want}")
    print(f"  F23 cadres trained in main classes: {trainees}")
    if not (801 <= trainees <= 899) or trainees % 10 == 0:
        problems.append(f"F23 trainees {trainees} not in 801..899 or round")
    # The boundary class must exist and not count.
    if not any(e["data"]["class_id"] == "2023-ZT10" for e in live if e["kind"] == "class_held"):
        problems.append("boundary class 2023-ZT10 missing")
    known_by_jun30 = [e for e in main_h1 if dt.datetime.fromisoformat(e["recorded_at"]) < dt.datetime(2023, 7, 1, tzinfo=TZ)]
    print(f"  (known on 2023-06-30: {len({e['data']['class_id'] for e in known_by_jun30})} main classes, "
          f"{sum(e['data']['trainees'] for e in known_by_jun30)} trainees)")

    # Approvals repeat their application and come after it.
    apps = {e["data"]["project_id"]: e for e in live if e["kind"] == "project_applied"}
    for e in live:
        if e["kind"] == "project_approved":
            a = apps.get(e["data"]["project_id"])
            if a is None or any(a["data"][k] != e["data"][k] for k in ("title", "funder", "lead", "members")):
                problems.append(f"approval {e['data']['project_id']} does not match its application")
            elif end(e) <= end(a):
                problems.append(f"approval {e['data']['project_id']} not after its application")

    # The "三个一" rule.
    leads = {e["data"]["lead"] for e in live if e["kind"] == "project_applied"}
    members = {m for e in live if e["kind"] == "project_applied" for m in e["data"].get("members", [])}
    authors = {a for e in live if e["kind"] == "result_submitted" for a in e["data"]["authors"]}
    print("“三个一” (leads / member / result):")
    failing = set()
    for t in TEACHERS:
        flags = (t in leads, t in members, t in authors)
        if not all(flags):
            failing.add(t)
        print(f"  {t}: {' '.join('✓' if x else '✗' for x in flags)}")
    if failing != {NO_LEAD, NO_RESULT}:
        problems.append(f"三个一 failing teachers {sorted(failing)}, expected {[NO_LEAD, NO_RESULT]}")

    print(f"kinds: {dict(sorted(Counter(e['kind'] for e in EVENTS).items()))}")
    print(f"ids unique: {len(by_id) == len(EVENTS)}; sorted by recorded_at: "
          f"{all(a <= b for a, b in zip(times, times[1:]))}; "
          f"recorded {times[0].isoformat()} .. {times[-1].isoformat()}")
    if problems:
        print(f"{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
