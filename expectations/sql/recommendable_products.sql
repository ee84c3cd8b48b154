-- Products a recommendation may show (unknown flags count as allowed).
select count(*)
from {products}
where in_stock is not false
  and is_active is not false
  and is_product is not false
