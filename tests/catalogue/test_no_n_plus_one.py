from __future__ import annotations

from tests import factories
from tests.catalogue.sql_queries import counting_queries
from tests.fixtures.api import GraphQLClient

# Within the default query cost limit (lists count 20 items each).
TREE = """
{
  departments {
    name
    children { name parent { code } }
    doctors { name department { name } room { name department { code } } }
    rooms { name }
  }
}"""


async def _hospital(size: int) -> None:
    for n in range(size):
        top = await factories.department(name=f"科{n}", code=f"T{size}X{n}")
        for _ in range(size):
            await factories.doctor(top)
        for m in range(size):
            await factories.department(name=f"科{n}-{m}", code=f"T{size}X{n}C{m}", parent=top)


async def test_a_nested_department_tree_costs_the_same_queries_for_any_size(gql: GraphQLClient) -> None:
    await _hospital(2)
    with counting_queries() as small:
        small_tree = await gql.data(TREE)

    await factories.admin_user()  # unrelated rows change nothing
    await _hospital(4)
    with counting_queries() as large:
        large_tree = await gql.data(TREE)

    assert len(small_tree["departments"]) == 2
    assert len(large_tree["departments"]) == 6
    assert sum(len(d["children"]) for d in large_tree["departments"]) == 2 * 2 + 4 * 4
    assert sum(len(d["doctors"]) for d in large_tree["departments"]) == 2 * 2 + 4 * 4
    # top departments, children, doctors, rooms, departments by id (parents, doctors' and rooms'
    # departments in one batch), rooms by id: one query per relation, whatever the tree's width.
    assert len(large) == len(small) == 6, "\n".join(large)


async def test_the_doctors_list_loads_departments_and_rooms_in_batches(gql: GraphQLClient) -> None:
    top = await factories.department(code="NK")
    for n in range(6):
        child = await factories.department(code=f"NK{n}", parent=top)
        await factories.doctor(child)

    with counting_queries() as statements:
        data = await gql.data(
            "query($id: ID!) { doctors(departmentId: $id) {"
            " name department { name parent { name } } room { name } } }",
            {"id": str(top.id)},
        )

    assert len(data["doctors"]) == 6
    # the department family, its doctors, departments by id, their parents, rooms by id
    assert len(statements) == 5, statements
