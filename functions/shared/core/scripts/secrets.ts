import type { Engine } from '../../config/schema.js';
import { MONGO_SECRET_VAR } from './engines/mongodb.js';
import { MYSQL_SECRET_VAR } from './engines/mysql.js';
import { POSTGRES_SECRET_VAR } from './engines/postgres.js';
import { REDIS_SECRET_VAR } from './engines/redis.js';

/** The environment variable each engine's tools read the password from (mongodb: a private config file instead). */
export const SECRET_VARS: Record<Engine, string> = {
  postgres: POSTGRES_SECRET_VAR,
  redis: REDIS_SECRET_VAR,
  mysql: MYSQL_SECRET_VAR,
  mariadb: MYSQL_SECRET_VAR,
  mongodb: MONGO_SECRET_VAR,
};
