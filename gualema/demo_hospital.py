from __future__ import annotations

from models.accounts import Account, Role
from models.passwords import hash_password


async def create_admin(phone: str, password: str, name: str) -> int:
    account = await Account.get_or_none(phone=phone)
    if account is None:
        await Account.create(phone=phone, password_hash=hash_password(password), name=name, role=Role.ADMIN)
    else:
        account.role = Role.ADMIN
        account.password_hash = hash_password(password)
        await account.save()
    print(f"administrator {phone[:3]}****{phone[-4:]} ready")
    return 0


async def seed_demo() -> int:
    await create_admin("13800000000", "admin12345", "演示管理员")
    return 0
