import type { MariadbServer } from '../../test/helpers/mariadb.js';
import type { PostgresServer } from '../../test/helpers/postgres.js';
import type { RedisServer } from '../../test/helpers/redis.js';

/**
 * The default demo's sample data: an `orders` PostgreSQL database (customers, orders with jsonb),
 * a Redis dataset of sessions plus a hash and a list, and a MariaDB `shop` database. Non-ASCII text
 * and quotes on purpose. `small` keeps a few rows (for CI).
 */

/** How much sample data there is. */
export interface SampleSize {
  customers: number;
  orders: number;
  sessions: number;
  stock: number;
}

/** The sizes of the full and the small sample. */
export const SAMPLE_SIZES = {
  full: { customers: 5_000, orders: 50_000, sessions: 500, stock: 2_000 },
  small: { customers: 50, orders: 500, sessions: 20, stock: 20 },
} as const satisfies Record<string, SampleSize>;

/** Creates and fills the sample databases; resolves to a one-line description of what is in them. */
export async function seedSampleData(pg: PostgresServer, redis: RedisServer, maria: MariadbServer, size: SampleSize): Promise<string> {
  await pg.createDatabase('orders');
  await pg.psql(
    'orders',
    `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, country text);
     INSERT INTO customers SELECT g, 'customer ' || g, (ARRAY['DE','FR','IE','PL'])[1 + g % 4] FROM generate_series(1, ${size.customers}) g;
     CREATE TABLE orders (id bigint PRIMARY KEY, customer int REFERENCES customers, total numeric(10,2), doc jsonb);
     INSERT INTO orders SELECT g, 1 + g % ${size.customers}, (g % 997) / 10.0, jsonb_build_object('items', g % 7, 'note', 'größe ☃')
       FROM generate_series(1, ${size.orders}) g;`,
  );
  const sets: string[] = [];
  for (let i = 0; i < size.sessions; i++) sets.push(`session:${i}`, `user-${i % 37} ü`);
  await redis.cli('MSET', ...sets);
  await redis.cli('HSET', 'stats', 'visits', '1234', 'signups', '56');
  await redis.cli('RPUSH', 'recent', 'tea', 'café', '日本茶');
  await maria.sql('', 'CREATE DATABASE shop CHARACTER SET utf8mb4');
  await maria.sql(
    'shop',
    `CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(60), price DECIMAL(8,2)) DEFAULT CHARSET=utf8mb4;
     INSERT INTO products VALUES (1, 'tea', 3.50), (2, 'café', 2.10), (3, 'O''Reilly mug', 9.99);
     CREATE TABLE stock (id INT AUTO_INCREMENT PRIMARY KEY, product INT, note VARCHAR(64), photo BLOB);
     INSERT INTO stock (product, note, photo) SELECT 1 + seq % 3, MD5(seq), UNHEX(MD5(seq)) FROM seq_1_to_${size.stock};`,
  );
  return `orders: ${size.customers} customers, ${size.orders} orders; ${size.sessions + 2} redis keys; shop: 3 products, ${size.stock} stock rows`;
}

/** Changes one row (one key) of each live sample database: `--tamper` does it after the backups, so every verification must fail. */
export async function tamperSampleData(pg: PostgresServer, redis: RedisServer, maria: MariadbServer): Promise<void> {
  await pg.psql('orders', "UPDATE customers SET name = name || ' (changed)' WHERE id = 1");
  await redis.cli('SET', 'session:0', 'changed after the backup');
  await maria.sql('shop', 'UPDATE products SET price = price + 1 WHERE id = 1');
}
