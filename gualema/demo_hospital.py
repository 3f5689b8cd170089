"""The demo hospital (`python -m gualema seed-demo`, also `serve --demo`): a campus 校医院.

Idempotent: rows are found by their natural keys (department code, room name, registration type
name, phone) and only missing ones are created, so running it twice changes nothing and an
administrator's edits survive a re-run.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from gualema.demo_map import seed_demo_map
from gualema.demo_schedules import seed_demo_schedules
from gualema.settings import get_settings
from models import pre_consultation
from models.accounts import Account, IdKind, Patient, Relation, Role, id_number_lookup_hash, seal_id_number
from models.catalogue import Department, Doctor, RegistrationType, Room
from models.identity import mask_phone, normalise_phone, phone_problem, resident_id_problem
from models.passwords import hash_password, password_problem


@dataclass(frozen=True)
class DemoLogin:
    role: str
    phone: str
    password: str
    who: str


ADMIN = DemoLogin("admin", "13800000000", "admin12345", "演示管理员")
DOCTOR = DemoLogin("doctor", "13900000001", "doctor12345", "张建国 (消化内科 主任医师)")
PATIENT_ONE = DemoLogin("patient", "13700000001", "patient12345", "王小明 (学生), 就诊人: 王小明, 母亲 刘芳")
PATIENT_TWO = DemoLogin("patient", "13700000002", "patient12345", "李娜 (教职工), 就诊人: 李娜")
DEMO_LOGINS = (ADMIN, DOCTOR, PATIENT_ONE, PATIENT_TWO)

# (code, name, building, floor, ticket prefix, description, sub-departments [(code, name, floor)])
DEPARTMENTS: tuple[tuple[str, str, str, str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "NK",
        "内科",
        "门诊楼",
        "2F",
        "A",
        "感冒发热、慢性病复诊与内科常见病",
        (("NK-XH", "消化内科", "2F"), ("NK-HX", "呼吸内科", "2F"), ("NK-XX", "心血管内科", "2F")),
    ),
    (
        "WK",
        "外科",
        "门诊楼",
        "3F",
        "B",
        "外伤清创、运动损伤与外科小手术",
        (("WK-PW", "普通外科", "3F"), ("WK-GK", "骨科", "3F")),
    ),
    ("KQ", "口腔科", "门诊楼", "4F", "C", "龋齿、洗牙与口腔黏膜病", ()),
    ("YK", "眼科", "门诊楼", "4F", "D", "视力检查、结膜炎与配镜咨询", ()),
    ("EBH", "耳鼻喉科", "门诊楼", "4F", "E", "鼻炎、咽喉炎与耳部疾病", ()),
    ("PF", "皮肤科", "综合楼", "2F", "F", "痤疮、湿疹与过敏性皮肤病", ()),
    ("ZY", "中医科", "综合楼", "3F", "G", "中医内科调理", (("ZY-ZJ", "针灸推拿", "3F"),)),
    ("XL", "心理咨询", "综合楼", "5F", "H", "学业压力、情绪困扰与人际关系咨询", ()),
)

# (department code, room name): rooms in two buildings.
ROOMS: tuple[tuple[str, str], ...] = (
    ("NK-XH", "201诊室"),
    ("NK-HX", "202诊室"),
    ("NK-XX", "203诊室"),
    ("NK", "205诊室"),
    ("WK-PW", "301诊室"),
    ("WK-GK", "302诊室"),
    ("KQ", "401诊室"),
    ("KQ", "402诊室"),
    ("YK", "405诊室"),
    ("EBH", "408诊室"),
    ("PF", "综合楼201"),
    ("ZY", "综合楼301"),
    ("ZY-ZJ", "综合楼302"),
    ("XL", "综合楼501咨询室"),
)

# The triage knowledge base speaks of specialties; this maps each onto a department of the campus
# hospital (it has no gynaecology, neurology or endocrinology clinic: those go to 内科).
SPECIALTY_DEPARTMENTS: dict[str, str] = {
    "gastroenterology": "NK-XH",
    "respiratory": "NK-HX",
    "cardiology": "NK-XX",
    "general_internal": "NK",
    "neurology": "NK",
    "endocrinology": "NK",
    "gynecology": "NK",
    "general_surgery": "WK-PW",
    "urology": "WK-PW",
    "orthopedics": "WK-GK",
    "stomatology": "KQ",
    "ophthalmology": "YK",
    "otolaryngology": "EBH",
    "dermatology": "PF",
    "psychology": "XL",
    "tcm": "ZY",
}

# (phone, name, title, department code, room name, introduction)
DOCTORS: tuple[tuple[str, str, str, str, str, str], ...] = (
    (DOCTOR.phone, "张建国", "主任医师", "NK-XH", "201诊室", "擅长胃炎、消化性溃疡及幽门螺杆菌根除治疗。"),
    ("13900000002", "李秀英", "副主任医师", "NK-XH", "201诊室", "擅长肠易激综合征与功能性消化不良。"),
    ("13900000003", "王志强", "主治医师", "NK-HX", "202诊室", "擅长哮喘、慢性咳嗽与上呼吸道感染。"),
    ("13900000004", "刘海燕", "主任医师", "NK-XX", "203诊室", "擅长高血压与心律失常的诊治。"),
    ("13900000005", "陈明", "住院医师", "NK", "205诊室", "内科常见病、发热门诊。"),
    ("13900000006", "杨帆", "副主任医师", "WK-PW", "301诊室", "擅长体表肿物切除与外伤清创缝合。"),
    ("13900000007", "赵丽华", "主治医师", "WK-GK", "302诊室", "擅长运动损伤、踝关节扭伤康复。"),
    ("13900000008", "黄伟", "主任医师", "KQ", "401诊室", "擅长根管治疗与牙周病。"),
    ("13900000009", "周静", "主治医师", "KQ", "402诊室", "擅长儿童龋齿与口腔预防保健。"),
    ("13900000010", "吴刚", "副主任医师", "YK", "405诊室", "擅长屈光不正与干眼症。"),
    ("13900000011", "徐敏", "主治医师", "EBH", "408诊室", "擅长过敏性鼻炎与慢性咽炎。"),
    ("13900000012", "孙磊", "主治医师", "PF", "综合楼201", "擅长痤疮、湿疹与荨麻疹。"),
    ("13900000013", "马晓红", "主任医师", "ZY", "综合楼301", "擅长中医体质调理与失眠。"),
    ("13900000014", "朱文博", "主治医师", "ZY-ZJ", "综合楼302", "擅长颈肩腰腿痛的针灸推拿治疗。"),
    (
        "13900000015",
        "胡婷",
        "心理咨询师",
        "XL",
        "综合楼501咨询室",
        "国家二级心理咨询师，擅长学业压力与情绪管理。",
    ),
)

# (name, fee in fen, sort order)
REGISTRATION_TYPES: tuple[tuple[str, int, int], ...] = (
    ("普通号", 500, 1),
    ("专家号", 2000, 2),
    ("特需号", 5000, 3),
)

DOCTOR_PASSWORD = DOCTOR.password


def resident_id(region: str, birth: str, sequence: str) -> str:
    """A resident ID number with a valid check digit (demo people only, not real persons)."""
    body = f"{region}{birth}{sequence}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


# (account phone, name, relation, resident ID number, phone)
PATIENTS: tuple[tuple[str, str, Relation, str, str], ...] = (
    (PATIENT_ONE.phone, "王小明", Relation.SELF, resident_id("110108", "20040915", "031"), PATIENT_ONE.phone),
    (PATIENT_ONE.phone, "刘芳", Relation.PARENT, resident_id("110108", "19760322", "042"), "13700000011"),
    (PATIENT_TWO.phone, "李娜", Relation.SELF, resident_id("310104", "19880611", "026"), PATIENT_TWO.phone),
)


async def create_admin(phone: str, password: str, name: str) -> int:
    problem = phone_problem(phone) or password_problem(password)
    if problem:
        print(f"create-admin: {problem}", file=sys.stderr)
        return 2
    phone = normalise_phone(phone)
    password_hash = await asyncio.to_thread(hash_password, password)
    account = await Account.get_or_none(phone=phone)
    if account is None:
        await Account.create(phone=phone, password_hash=password_hash, name=name, role=Role.ADMIN)
    else:
        account.role, account.password_hash, account.disabled = Role.ADMIN, password_hash, False
        await account.save(update_fields=["role", "password_hash", "disabled"])
    print(f"administrator {mask_phone(phone)} ready", file=sys.stderr)
    return 0


# Demo accounts share a few passwords: hash each once (argon2id costs tens of milliseconds).
_demo_hashes: dict[str, str] = {}


async def _login(phone: str, password: str, name: str, role: Role) -> Account:
    """Creates the login if missing; an existing one keeps its current password and role."""
    account = await Account.get_or_none(phone=phone)
    if account is None:
        if password not in _demo_hashes:
            _demo_hashes[password] = await asyncio.to_thread(hash_password, password)
        account = await Account.create(
            phone=phone, password_hash=_demo_hashes[password], name=name, role=role
        )
    return account


async def _departments() -> dict[str, Department]:
    by_code = {row.code: row for row in await Department.all()}
    for order, (code, name, building, floor, prefix, description, children) in enumerate(DEPARTMENTS, 1):
        if code not in by_code:
            by_code[code] = await Department.create(
                code=code,
                name=name,
                building=building,
                floor=floor,
                location=f"{building}{floor}",
                ticket_prefix=prefix,
                description=description,
                sort_order=order,
            )
        parent = by_code[code]
        for child_order, (child_code, child_name, child_floor) in enumerate(children, 1):
            if child_code not in by_code:
                by_code[child_code] = await Department.create(
                    code=child_code,
                    name=child_name,
                    parent=parent,
                    building=building,
                    floor=child_floor,
                    location=f"{building}{child_floor}",
                    ticket_prefix=prefix,
                    sort_order=child_order,
                )
    return by_code


async def _rooms(departments: dict[str, Department]) -> dict[str, Room]:
    by_name = {row.name: row for row in await Room.all()}
    for code, name in ROOMS:
        if name not in by_name:
            owner = departments[code]
            by_name[name] = await Room.create(
                name=name, department=owner, building=owner.building, floor=owner.floor
            )
    return by_name


async def _registration_types() -> None:
    existing = set(await RegistrationType.all().values_list("name", flat=True))
    for name, fee, order in REGISTRATION_TYPES:
        if name not in existing:
            await RegistrationType.create(name=name, fee=fee, sort_order=order)


async def _doctors(departments: dict[str, Department], rooms: dict[str, Room]) -> None:
    for phone, name, title, code, room_name, introduction in DOCTORS:
        login = await _login(phone, DOCTOR_PASSWORD, name, Role.DOCTOR)
        if not await Doctor.filter(account_id=login.id).exists():
            await Doctor.create(
                account=login,
                name=name,
                title=title,
                department=departments[code],
                room=rooms[room_name],
                introduction=introduction,
            )


async def _patients() -> None:
    for holder in (PATIENT_ONE, PATIENT_TWO):
        await _login(holder.phone, holder.password, holder.who.split(" ")[0], Role.PATIENT)
    for account_phone, name, relation, number, phone in PATIENTS:
        assert resident_id_problem(number) is None, name
        account = await Account.get(phone=account_phone)
        lookup = id_number_lookup_hash(IdKind.RESIDENT_ID, number)
        if not await Patient.filter(account_id=account.id, id_number_hash=lookup).exists():
            sealed = seal_id_number(IdKind.RESIDENT_ID, number)
            await Patient.create(
                account=account,
                name=name,
                relation=relation,
                id_kind=IdKind.RESIDENT_ID,
                id_number_cipher=sealed.cipher,
                id_number_hash=sealed.lookup_hash,
                id_number_masked=sealed.masked,
                phone=phone,
            )


async def seed_demo() -> int:
    if get_settings().is_production:
        # The demo passwords are published in the README: in production they would be a back door.
        print(
            "seed-demo: refused with GUALEMA_ENV=production (the demo passwords are public)", file=sys.stderr
        )
        return 2
    async with in_transaction():
        await _login(ADMIN.phone, ADMIN.password, ADMIN.who, Role.ADMIN)
        departments = await _departments()
        rooms = await _rooms(departments)
        await _registration_types()
        await _doctors(departments, rooms)
        await _patients()
    await seed_demo_schedules()
    await seed_demo_map()
    await seed_demo_triage_map()
    print_demo_logins()
    return 0


async def seed_demo_triage_map() -> None:
    """The first triage knowledge version: the shipped knowledge base with the campus hospital's map.
    Left alone once any version exists (an administrator's edits survive a re-run)."""
    if await pre_consultation.current_version() == 0:
        await pre_consultation.save_version(pre_consultation.default_document(SPECIALTY_DEPARTMENTS), None)


def print_demo_logins() -> None:
    print("Demo logins (phone / password):")
    for login in DEMO_LOGINS:
        print(f"  {login.role:<8} {login.phone} / {login.password}  {login.who}")
